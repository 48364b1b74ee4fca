"""The hub's connector contract, run by this package on itself (hub.sdk.testing)."""

from hub.sdk.testing import ConnectorContract


class TestAcmeCrmContract(ConnectorContract):
    connector_id = "acme_crm"
