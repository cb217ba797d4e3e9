"""What both home screens share: switching demo user (embedded demo only) and the line saying who you are."""

from __future__ import annotations

from typing import TYPE_CHECKING

from timebok.screens.base import FlowScreen
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Static

if TYPE_CHECKING:  # the models load with the client, after the first paint
    from timebok.client.models import User
    from timebok.screens.demo_users import DemoChoice


class HomeScreen(FlowScreen):
    """A role's first screen; in the embedded demo, U picks someone else to be."""

    BINDINGS = [key("u", "switch_demo_user", "demo.switch", show=False)]  # the demo line names the key

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_demo_user":
            # Not before the backend answers: the picker asks it who the demo's users are.
            return self.timebok.connection.embedded and self.timebok.client is not None and self.timebok.user is not None
        if action == "back":
            return False  # nowhere to go back to from home; keep Esc out of the footer
        return True

    def demo_line(self) -> Static:
        line = Static("", id="demo-line", classes="hint")
        line.display = False  # until the user is known; hidden from the start, so the first paint lays out once
        return line

    def show_demo_line(self, user: User | None) -> None:
        line = self.query_one("#demo-line", Static)
        line.display = self.timebok.connection.embedded and user is not None
        if user is not None and user.is_support:
            line.update(t("demo.current_support", agent=user.agent, citizen=user.name))
        elif user is not None:
            line.update(t("demo.current_named", name=user.name))

    def action_switch_demo_user(self) -> None:
        from timebok.screens.demo_users import DemoUserScreen

        if self.timebok.connection.embedded:
            self.app.push_screen(DemoUserScreen(), self._chosen)

    def _chosen(self, choice: DemoChoice | None) -> None:
        if choice is not None:
            self.timebok.sign_in(choice.token, choice.agent_token, role=choice.role)
