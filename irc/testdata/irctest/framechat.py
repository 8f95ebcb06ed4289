import os
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController


class FramechatController(BaseServerController, DirectoryBasedController):
    """Runs framechat's IRC listener (FRAMECHAT_BIN), one server per test."""

    software_name = "framechat"
    supported_sasl_mechanisms: Set[str] = set()
    supports_sts = False

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if password is not None:
            raise NotImplementedByController("PASS")
        if ssl:
            raise NotImplementedByController("TLS")
        if run_services:
            raise NotImplementedByController("services")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        self.proc = self.execute(
            [
                os.environ.get("FRAMECHAT_BIN", "framechat"),
                "-irc", f"{hostname}:{port}",
                "-irc-server-name", "My.Little.Server",
                "-irc-opers", "operuser:operpassword",
                "-log", "",
            ],
        )


def get_irctest_controller_class() -> Type[FramechatController]:
    return FramechatController
