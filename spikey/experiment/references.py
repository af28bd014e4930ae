"""What a config may run: resolution of ``module:attr``, ``file.py:attr`` and ``{call: ...}`` references.

A config is code only where it names code. A reference resolves only to

* the parts, networks, modifiers and games of ``spikey`` (``spikey.snn``,
  ``spikey.games``) and the helpers they use (``spikey.backend``,
  ``spikey.module``), and functions and classes of ``numpy`` (its file
  reading/writing and compilation helpers excepted);
* a Python file the config names, ``"path/to/file.py:attr"`` (looked up from
  the config file's folder, then the working directory, then ``sys.path``):
  naming a file is the explicit act that runs it;
* a module the user names as trusted: the config's ``trusted_modules: [mypkg]``,
  ``spikey run --trust-module mypkg``, or ``Experiment(trusted_modules=[...])``.

Whatever the allowed module, the object reached must not belong to a module
that runs commands, imports code, unpickles or touches the system (``os``,
``subprocess``, ``builtins``, ``sys``, ``shutil``, ``importlib``, ``pickle``,
``socket``, ``ctypes``, ``runpy``, ... see ``DENIED_MODULES``): each step of the
attribute path and the resolved object's ``__module__`` are checked, so a
re-export (``spikey.cli:os.system``, ``numpy:load``) is no way around it, and
attribute names starting with ``_`` are refused. A refused reference raises
``RefusedReferenceError`` naming it and saying what to do.

Under ``no_user_code()`` (``spikey keys``) files and trusted modules are not
imported at all: such a reference raises ``UserCodeNotImported``.

Modules are imported with the working directory removed from the import path
(``python -m`` and ``python -c`` put it first), so a ``module:attr`` is never
picked up from whatever folder the command runs in.

Examples
--------
>>> resolve_reference("spikey.games:xor_gate").__name__
'xor_gate'
>>> resolve_reference("os:system")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
spikey.experiment.references.RefusedReferenceError: reference 'os:system' is refused: module 'os' runs commands, imports code or touches the system, and a config may not name it. ...
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from spikey.module import ConfigError, suggest

_REFERENCE = re.compile(r"^(?P<module>[A-Za-z_][\w.]*|[^:\s]+\.py):(?P<attr>[A-Za-z_][\w.]*)$")

#: Modules (any dotted component) a reference may never reach, trusted or not.
DENIED_MODULES = frozenset({
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "builtins", "__builtin__",
    "sys", "shutil", "importlib", "imp", "zipimport", "pkgutil", "runpy", "code", "codeop", "pickle",
    "_pickle", "cPickle", "pickletools", "copyreg", "dill", "cloudpickle", "joblib", "marshal", "shelve",
    "dbm", "socket", "_socket", "ssl", "ctypes", "_ctypes", "cffi", "pty", "tty", "termios", "fcntl",
    "resource", "signal", "multiprocessing", "threading", "_thread", "asyncio", "concurrent", "selectors",
    "tempfile", "io", "_io", "pathlib", "glob", "fileinput", "urllib", "http", "ftplib", "smtplib",
    "telnetlib", "webbrowser", "xmlrpc", "inspect", "gc", "types", "pdb", "bdb", "trace", "site",
    "sysconfig", "distutils", "setuptools", "pip", "ensurepip", "venv", "platform", "atexit", "weakref",
    "operator", "functools", "linecache", "tokenize", "compileall", "py_compile", "zipfile", "tarfile",
    "gzip", "bz2", "lzma", "sqlite3", "logging", "ray",
})

#: numpy names a reference may never reach: file I/O and code loading (``numpy.load`` unpickles,
#: ``numpy.save`` writes files, ``ndarray.dump`` pickles, ``numpy.f2py`` compiles and runs).
NUMPY_DENIED_NAMES = frozenset({
    "load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
    "fromregex", "tofile", "dump", "dumps", "memmap", "DataSource", "ctypeslib", "f2py", "testing",
    "distutils", "load_library", "show_config", "show_runtime", "info", "source", "lookfor", "npyio",
    "format", "open_memmap",
})

#: Packages and modules a config may name without trusting anything (``spikey``: its part library only).
BUILTIN_ALLOWED = ("spikey.snn", "spikey.games", "spikey.backend", "spikey.module", "numpy")
#: The package a reference may step through on its way to an allowed object (``spikey:...`` re-exports).
_PASSAGE = "spikey"
#: Prefix of the module names files named by a config are imported under.
USER_FILE_PREFIX = "spikey_user_"


class ExperimentError(ConfigError):
    """An experiment spec is invalid: names the field (``key``), the value and what was expected."""


class RefusedReferenceError(ExperimentError):
    """A reference names code a config may not run (see the module docstring)."""


class UserCodeNotImported(ExperimentError):
    """A reference names a user file or module, and user code is not imported here (``spikey keys``)."""


_NO_USER_CODE: contextvars.ContextVar[bool] = contextvars.ContextVar("spikey_no_user_code", default=False)


@contextlib.contextmanager
def no_user_code() -> Iterator[None]:
    """Within the block, references to files or trusted modules raise ``UserCodeNotImported``."""
    token = _NO_USER_CODE.set(True)
    try:
        yield
    finally:
        _NO_USER_CODE.reset(token)


def is_reference(value: Any) -> bool:
    """Whether ``value`` is a string of the form ``"module.sub:attr"`` or ``"path/file.py:attr"``."""
    return isinstance(value, str) and _REFERENCE.match(value) is not None


def _within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def denied_component(module_name: str | None) -> str | None:
    """The first dotted component of ``module_name`` in ``DENIED_MODULES`` (None if there is none)."""
    for component in (module_name or "").split("."):
        if component in DENIED_MODULES:
            return component
    return None


def normalise_trusted(trusted: Any) -> tuple[str, ...]:
    """``trusted_modules`` as a tuple of module names, each checked (not denied, a dotted name)."""
    if trusted is None:
        return ()
    if isinstance(trusted, str):
        trusted = [trusted]
    if not isinstance(trusted, (list, tuple)):
        raise ExperimentError(f"Experiment: trusted_modules = {trusted!r}; expected a list of module names.",
                              key="trusted_modules", value=trusted, expected="a list of module names")
    out = []
    for name in trusted:
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*$", name):
            raise ExperimentError(f"Experiment: trusted_modules entry {name!r} is not a module name.",
                                  key="trusted_modules", value=name, expected="a dotted module name")
        denied = denied_component(name)
        if denied is not None:
            raise RefusedReferenceError(
                f"Experiment: trusted_modules entry {name!r} is refused: module '{denied}' runs commands, "
                f"imports code or touches the system, and no config may name it.", key="trusted_modules",
                value=name, expected="a module outside " + ", ".join(sorted(DENIED_MODULES)[:6]) + ", ...")
        out.append(name)
    return tuple(dict.fromkeys(out))


def _refuse(text: str, why: str, trusted: Sequence[str]) -> RefusedReferenceError:
    scope = ", ".join(BUILTIN_ALLOWED + tuple(trusted))
    return RefusedReferenceError(
        f"reference {text!r} is refused: {why}. A config may name the parts and games of spikey, numpy, "
        f"Python files it names ('file.py:attr') and modules listed in trusted_modules (now: {scope}).",
        key=text, value=text, expected="a reference to spikey, numpy, a named file or a trusted module")


def _module_allowed(name: str, trusted: Sequence[str], user_files: bool = True) -> bool:
    if user_files and name.startswith(USER_FILE_PREFIX):
        return True
    return _within(name, BUILTIN_ALLOWED) or _within(name, trusted)


def check_object(text: str, obj: Any, trusted: Sequence[str] = ()) -> Any:
    """``obj`` if a config may use it (its module allowed and not denied), else ``RefusedReferenceError``."""
    if isinstance(obj, types.ModuleType):
        module_name = obj.__name__
    else:
        module_name = getattr(obj, "__module__", None)
        if not isinstance(module_name, str) and callable(obj):
            # Callable instances without a module (e.g. functools.partial objects): judge their type.
            module_name = type(obj).__module__
    if isinstance(module_name, str):
        denied = denied_component(module_name)
        if denied is not None:
            raise _refuse(text, f"module '{denied}' runs commands, imports code or touches the system, and "
                                f"a config may not name it", trusted)
        if not _module_allowed(module_name, trusted):
            if isinstance(obj, types.ModuleType) and module_name == _PASSAGE:
                return obj
            raise _refuse(text, f"it resolves to {_describe(obj)} of module '{module_name}', which is neither "
                                f"spikey's part library, numpy, a named file nor a trusted module", trusted)
    name = getattr(obj, "__name__", None)
    if isinstance(name, str) and name in NUMPY_DENIED_NAMES and _within(str(module_name), ("numpy",)):
        raise _refuse(text, f"numpy's '{name}' reads or writes files or loads code", trusted)
    return obj


def _describe(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return "a module"
    return f"'{getattr(obj, '__qualname__', getattr(obj, '__name__', type(obj).__name__))}'"


def find_file(path: str, base_dir: str | None) -> Path:
    """The file a ``file.py`` reference names: from ``base_dir`` (the config's folder), the working directory,
    the original working directory of a Ray Tune trial, then ``sys.path`` (where Ray puts the driver's
    folder on a worker); absolute paths as given. The file is named, so where it is found widens nothing."""
    candidates = [Path(path)] if os.path.isabs(path) else []
    if not candidates:
        bases = [base_dir, os.getcwd(), os.environ.get("TUNE_ORIG_WORKING_DIR")] + sys.path
        candidates = [Path(b) / path for b in dict.fromkeys(bases) if b]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = [str(c.parent) for c in candidates[:3]]
    raise ExperimentError(f"reference file '{path}' not found (looked in {looked} and sys.path).", key=path,
                          value=path, expected="an existing .py file next to the config")


def load_file_module(path: str | Path, base_dir: str | None = None) -> Any:
    """Import a Python file a config names as a module (cached per absolute path) and return it."""
    file = find_file(str(path), base_dir)
    if _NO_USER_CODE.get():
        raise UserCodeNotImported(f"'{path}' is a user file; it is not imported here, so its keys and objects "
                                  f"are not known.", key=str(path), value=str(path), expected="a built-in part")
    name = f"{USER_FILE_PREFIX}{file.stem}_{hashlib.sha1(str(file).encode()).hexdigest()[:10]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: dataclasses and pickling look it up
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


@contextlib.contextmanager
def _without_working_directory() -> Iterator[None]:
    """Import with '' and the working directory removed from ``sys.path`` (put there by ``-m``/``-c``)."""
    cwd = os.getcwd()
    saved = list(sys.path)
    sys.path[:] = [p for p in saved if p not in ("", ".") and os.path.abspath(p) != cwd]
    try:
        yield
    finally:
        added = [p for p in sys.path if p not in saved]
        sys.path[:] = saved + added


def import_module(module_name: str, text: str, trusted: Sequence[str] = ()) -> Any:
    """Import ``module_name`` for reference ``text`` if a config may name it (see the module docstring)."""
    denied = denied_component(module_name)
    if denied is not None:
        raise _refuse(text, f"module '{denied}' runs commands, imports code or touches the system, and a "
                            f"config may not name it", trusted)
    if _within(module_name, (_PASSAGE,)):  # spikey's own modules: a typo says so rather than "refused"
        try:
            exists = importlib.util.find_spec(module_name) is not None
        except ImportError:
            exists = False
        if not exists:
            import pkgutil
            import spikey
            names = [f"spikey.{m.name}" for m in pkgutil.iter_modules(spikey.__path__)]
            raise ExperimentError(f"reference {text!r}: module '{module_name}' cannot be imported (no such "
                                  f"module).{suggest(module_name, names)}", value=text,
                                  expected="an importable module")
    if not (_module_allowed(module_name, trusted, user_files=False) or module_name == _PASSAGE):
        top = module_name.split(".")[0]
        raise _refuse(text, f"module '{module_name}' is neither spikey's part library, numpy nor a trusted "
                            f"module (add it to trusted_modules, or pass --trust-module {top}, if you mean "
                            f"to run its code)", trusted)
    if not (_within(module_name, BUILTIN_ALLOWED) or module_name == _PASSAGE) and _NO_USER_CODE.get():
        raise UserCodeNotImported(f"'{module_name}' is a user module; it is not imported here, so its keys and "
                                  f"objects are not known.", key=text, value=text, expected="a built-in part")
    try:
        if module_name in sys.modules:
            return sys.modules[module_name]
        with _without_working_directory():
            return importlib.import_module(module_name)
    except ImportError as error:
        raise ExperimentError(f"reference {text!r}: module '{module_name}' cannot be imported ({error}).",
                              value=text, expected="an importable module") from error


def resolve_reference(text: str, base_dir: str | None = None, trusted: Sequence[str] = ()) -> Any:
    """The object that ``"module.sub:attr"`` or ``"path/to/file.py:attr"`` names, if a config may use it.

    ``base_dir`` is where relative files are looked up first (the config's folder);
    ``trusted`` the modules named as trusted besides spikey and numpy.
    Raises ``RefusedReferenceError`` for code a config may not run.
    """
    match = _REFERENCE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ExperimentError(f"reference {text!r} is not of the form 'package.module:attr' or "
                              f"'path/to/file.py:attr'.", value=text, expected="module:attr")
    trusted = normalise_trusted(trusted)
    module_name, attr = match["module"], match["attr"]
    if module_name.endswith(".py"):
        module = load_file_module(module_name, base_dir)
    else:
        module = import_module(module_name, text, trusted)
    obj = module
    for part in attr.split("."):
        if part.startswith("_"):
            raise _refuse(text, f"attribute '{part}' is private", trusted)
        owner = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
        if part in NUMPY_DENIED_NAMES and _within(str(owner), ("numpy",)):
            raise _refuse(text, f"numpy's '{part}' reads or writes files or loads code", trusted)
        if not hasattr(obj, part):
            raise ExperimentError(f"reference {text!r}: '{module_name}' has no attribute '{attr}'."
                                  f"{suggest(part, dir(obj))}", value=text, expected="an existing attribute")
        obj = check_object(text, getattr(obj, part), trusted)
    return obj


def resolve_dotted(value: str, field: str, trusted: Sequence[str] = ()) -> Any:
    """The object of a dotted name ``"package.module.Class"`` under the same rules as a reference."""
    module_name, _, attr = value.rpartition(".")
    return resolve_reference(f"{module_name}:{attr}", None, trusted)


def call_reference(spec: dict, base_dir: str | None = None, trusted: Sequence[str] = ()) -> Any:
    """The result of ``{call: "module:attr", args: [...], kwargs: {...}}`` (the target checked first)."""
    target = resolve_reference(spec["call"], base_dir, trusted)
    if not callable(target):
        raise ExperimentError(f"call {spec['call']!r} names {target!r}, which is not callable.",
                              key=spec["call"], value=spec, expected="a function or class")
    args, kwargs = spec.get("args", []), spec.get("kwargs", {})
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        raise ExperimentError(f"call {spec['call']!r}: args must be a list and kwargs a mapping; got "
                              f"{args!r}, {kwargs!r}.", key=spec["call"], value=spec,
                              expected="{call: ..., args: [...], kwargs: {...}}")
    return target(*args, **kwargs)


def reference_of(obj: Any) -> str | None:
    """``"module:qualname"`` for an importable top-level object (None for lambdas, locals, ``__main__``)."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__" \
            or module.startswith(USER_FILE_PREFIX):
        return None
    try:
        target = sys.modules.get(module) or importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if target is obj else None


def needs_trust(reference: str) -> str | None:
    """The top-level module a ``module:attr`` reference needs trusted (None: spikey, numpy or a file)."""
    match = _REFERENCE.match(reference) if isinstance(reference, str) else None
    if match is None or match["module"].endswith(".py"):
        return None
    name = match["module"]
    if _within(name, BUILTIN_ALLOWED) or name == _PASSAGE:
        return None
    return name.split(".")[0]
