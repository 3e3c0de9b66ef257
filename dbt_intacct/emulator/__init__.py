"""A local Sage Intacct XML gateway, written as Intacct's side of the wire.

It imports nothing from the rest of dbt_intacct (only the standard library, lxml and click), so that
the client and the emulator check each other. See docs/emulator.md.

    from dbt_intacct.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(port=0)) as server:
        server.url          # http://127.0.0.1:PORT/ia/xml/xmlgw.phtml
        server.admin.stats()
"""

from dbt_intacct.emulator.admin import EmulatorAdmin, EmulatorAdminError
from dbt_intacct.emulator.config import (
    DEMO_COMPANY_ID,
    DEMO_SENDER_ID,
    DEMO_SENDER_PASSWORD,
    DEMO_USER_ID,
    DEMO_USER_PASSWORD,
    EmulatorConfig,
)
from dbt_intacct.emulator.process import EmulatorProcess, EmulatorProcessError
from dbt_intacct.emulator.server import EmulatorServer

__all__ = [
    "DEMO_COMPANY_ID",
    "DEMO_SENDER_ID",
    "DEMO_SENDER_PASSWORD",
    "DEMO_USER_ID",
    "DEMO_USER_PASSWORD",
    "EmulatorAdmin",
    "EmulatorAdminError",
    "EmulatorConfig",
    "EmulatorProcess",
    "EmulatorProcessError",
    "EmulatorServer",
]
