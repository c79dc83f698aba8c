"""`asts llm serve`: run only the local LLM server (SmolLM2 on llama-cpp-python) in the foreground.

Built by ``make_llm_app`` with the CLI's own helpers (error exit, console), so this module
never imports ``worker.cli`` (which runs as ``__main__``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

Fail = Callable[..., NoReturn]
LLM_CHOICES = ("none", "local")


def check_llm_choice(llm: str, fail: Fail) -> None:
    """Exit 2 unless ``llm`` is a known choice and, for ``local``, the llm extra is installed."""
    from worker.llm_local import LocalLlmError, check_installed

    if llm not in LLM_CHOICES:
        fail(f"--llm must be one of {', '.join(LLM_CHOICES)}, not {llm!r}")
    if llm == "local":
        try:
            check_installed()
        except LocalLlmError as e:
            fail(str(e))


def make_llm_app(*, fail: Fail, console: Console) -> typer.Typer:
    """The ``asts llm`` command group."""
    llm_app = typer.Typer(help="The local LLM (SmolLM2-135M-Instruct, from the llm extra).")

    @llm_app.command("serve")
    def serve(
        port: Annotated[
            int | None, typer.Option(help="port on 127.0.0.1 (default ASTS_LLM_LOCAL_PORT or 8081)")
        ] = None,
    ) -> None:
        """Serve the local model (OpenAI-compatible API) until Ctrl-C, its output on the terminal."""
        from worker.launcher import Interrupted, raise_on_signals
        from worker.llm_local import LocalLlmError, llm_env, start_local_llm
        from worker.settings import Settings

        check_llm_choice("local", fail)
        raise_on_signals()
        try:
            llm = start_local_llm(port if port is not None else Settings().llm_local_port, log_path=None)
        except LocalLlmError as e:
            fail(str(e), code=1)
        try:
            console.print(f"[green]serving {llm.model}[/green] at {llm.base_url}; point ASTS at it with:")
            for key, value in llm_env(llm.port).items():
                console.print(f"  export {key}={escape(value)}")
            console.print("Press Ctrl-C to stop.")
            code = llm.proc.wait()
            fail(f"the local LLM server exited with code {code}", code=1)
        except Interrupted:
            console.print("stopping…")
        finally:
            llm.stop()

    return llm_app
