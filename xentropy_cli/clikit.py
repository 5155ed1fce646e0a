"""Click and Typer, fitted to xent: usage errors as one line (exit 2), closed choices completed by
the shell, signals and a full stdout handled around the whole call, and options declared once and
given to several commands (``bundled``)."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer 0.2x carries its own copy of click: its types and errors are the ones it uses
    from typer._click import core as click_core
    from typer._click import exceptions as click_errors
    from typer._click import shell_completion
    from typer._click import types as click_types
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import core as click_core  # type: ignore[no-redef]
    from click import exceptions as click_errors  # type: ignore[no-redef]
    from click import shell_completion  # type: ignore[no-redef]
    from click import types as click_types  # type: ignore[no-redef]

from xentropy_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, report, run_main


class Group(TyperGroup):
    """Click's own usage errors (an unknown option, a bad or missing value) in xent's style: one
    line on stderr, exit 2; the rest as Typer does it."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """errors.run_main around it all: a full or closed stdout under --help/--version is one
        line (exit 1), SIGTERM ends with 143 after the temporary files are gone."""
        return run_main(lambda: self._main(args, prog_name, complete_var, windows_expand_args, **extra),
                        standalone_mode)

    def _main(self, args: Sequence[str] | None, prog_name: str | None, complete_var: str | None,
              windows_expand_args: bool, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as error:  # bare `xent`: the help, as before
            error.show()
            raise SystemExit(error.exit_code) from None
        except click_errors.ClickException as error:
            report(one_line(error))
            usage = isinstance(error, click_errors.UsageError)
            raise SystemExit(EXIT_USAGE if usage else error.exit_code) from None
        except typer.Abort:
            sys.stderr.write("\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        return rv if isinstance(rv, int) else 0


def one_line(error: click_errors.ClickException) -> str:
    text = " ".join(error.format_message().split()).rstrip(".")
    ctx = getattr(error, "ctx", None)
    if isinstance(error, click_errors.UsageError) and not isinstance(error, BadChoice) and ctx is not None:
        text += f"; see {ctx.command_path} --help"
    return text


class BadChoice(click_errors.BadParameter):
    def format_message(self) -> str:
        return self.message


class Choice(click_types.ParamType):
    """One of a closed set of values, completed by the shell. ``values`` is called when needed (so
    building the CLI imports nothing heavy); ``canonical`` maps aliases to a value; a bad value is
    ``unknown WHAT 'x'; choose one of …`` (exit 2)."""

    name = "choice"

    def __init__(self, values: Callable[[], Sequence[str]], what: str | None = None,
                 canonical: Callable[[str], str] | None = None):
        self.values, self.what, self.canonical = values, what, canonical

    def get_metavar(self, param: click_core.Parameter, ctx: click_core.Context | None = None) -> str:
        return "[" + "|".join(self.values()) + "]"

    def convert(self, value: Any, param: click_core.Parameter | None, ctx: click_core.Context | None) -> Any:
        key = self.canonical(value) if self.canonical else value
        if key in self.values():
            return key
        what = self.what or (param.opts[0] if param is not None and param.opts else "value")
        raise BadChoice(f"unknown {what} {value!r}; choose one of {', '.join(self.values())}",
                         ctx=ctx, param=param)

    def shell_complete(self, ctx: click_core.Context, param: click_core.Parameter,
                       incomplete: str) -> list[Any]:
        return [shell_completion.CompletionItem(v) for v in self.values() if v.startswith(incomplete)]


def fixed(values: Sequence[str]) -> Choice:
    return Choice(lambda: tuple(values))


class Typer(typer.Typer):
    """Typer whose whole call (building the Click command included) runs inside errors.run_main,
    so a signal or a full stdout at any moment after start-up ends as one line and its code."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        standalone = kwargs.get("standalone_mode", True)
        return run_main(lambda: super(Typer, self).__call__(*args, **kwargs), standalone)


def bundled(params: tuple[tuple[str, Any, Any], ...], into: str,
             build: Callable[..., Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator giving a command the options ``params`` (declared once, first in its help) and
    calling it with ``into=build(**those options)``; the command's own options follow."""
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = typing.get_type_hints(command, localns={"ReadSpec": object, "Setup": object},
                                      include_extras=True)
        kind = inspect.Parameter.KEYWORD_ONLY  # Typer passes every option by name
        shared = [inspect.Parameter(name, kind, default=default, annotation=annotation)
                  for name, annotation, default in params]
        own = [p.replace(annotation=hints[p.name], kind=kind)
               for p in inspect.signature(command).parameters.values() if p.name != into]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            given = {name: kwargs.pop(name) for name, _, _ in params}
            return command(**{into: build(**given)}, **kwargs)

        every = shared + own
        wrapper.__signature__ = inspect.Signature(every)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in every}
        return wrapper

    return decorate
