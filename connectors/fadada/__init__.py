"""法大大 FASC OpenAPI 5.x: electronic sign tasks on uploaded contracts, followed by callback or poll."""

from __future__ import annotations

from connectors.fadada.actions import CancelSignTask, CreateSignTask, GetDownloadUrl, GetSignTask
from connectors.fadada.api import FascAuth, fetch_token
from connectors.fadada.callback import TaskStatus
from connectors.fadada.poll import TaskStatusPoll
from hub.sdk.connector import Connector
from hub.sdk.context import Context


class FadadaConnector(Connector):
    id = "fadada"
    name = "法大大 FASC"
    category = "esignature"
    description = "Electronic signatures with 法大大 (FASC 5.x): sign tasks, their status, signed files."
    icon = "fadada"
    docs_url = "docs/connectors/fadada.md"
    base_url = "https://api.fadada.com/api/v5"
    auth = FascAuth()
    connection_fields = {
        "open_corp_id": {
            "type": "string",
            "title": "OpenCorpId of your company",
            "description": "Your company's openCorpId in this app (after it authorised the app); the "
            "initiator of sign tasks and the owner for downloads and the poll.",
        },
    }
    triggers = (TaskStatus, TaskStatusPoll)
    actions = (CreateSignTask, GetSignTask, CancelSignTask, GetDownloadUrl)
    default_rate_limit = 10.0

    def test_connection(self, ctx: Context) -> str:
        fetch_token(ctx)  # not from the cache: the check is that these credentials work now
        return "法大大 issued an access token for this app"


connector = FadadaConnector()
