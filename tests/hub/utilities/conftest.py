from tests.hub.api.conftest import headers
from tests.hub.utilities.standin import vendor

__all__ = ["headers", "vendor"]
