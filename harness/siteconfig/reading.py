"""Reading a site TOML file: its text in whatever encoding a Windows editor saved, then its TOML."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from harness.errors import ConfigError
from harness.personas import Archetype
from harness.siteconfig.model import SiteConfig
from harness.siteconfig.parse import parse_site


def load_site(path: Path | str, *, profiles: Iterable[str] | None = None,
              archetypes: Iterable[str | Archetype] | None = None,
              item_aliases: Iterable[str] | None = None) -> SiteConfig:
    """Read and check a site TOML file. `profiles`/`archetypes`, when given, are the known ones.

    Given as catalogue `Archetype`s (not bare ids), archetypes the site gives no person for are mapped
    to their `fallback` when the site gives that one (`SiteConfig.stand_ins`).
    """
    file = Path(path)
    text = read_site_text(file)
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("the site config is not valid TOML", location=str(file), detail=str(exc)) from exc
    except RecursionError as exc:
        raise ConfigError("the site config nests too deeply to read", location=str(file),
                          hint="a site config is a few tables deep; look for runaway brackets") from exc
    return parse_site(data, source=str(file), profiles=profiles, archetypes=archetypes, item_aliases=item_aliases)


_READ_HINT = "pass --site with the path of a TOML file, e.g. fixtures/sites/example-province.toml"


def read_site_text(file: Path) -> str:
    """The text of a site config, whatever a Windows editor saved it as: UTF-8 (with or without a byte-order
    mark), UTF-16 with its mark (Notepad's "Unicode"), or GBK/GB18030 (common on Chinese Windows). A folder,
    a missing file or a binary one is a ConfigError that says so."""
    try:
        raw = file.read_bytes()
    except IsADirectoryError as exc:
        raise ConfigError("cannot read the site config: it is a folder, not a file", location=str(file),
                          hint=_READ_HINT) from exc
    except FileNotFoundError as exc:
        raise ConfigError("cannot read the site config: no such file", location=str(file), hint=_READ_HINT) from exc
    except OSError as exc:
        raise ConfigError("cannot read the site config", location=str(file), detail=str(exc), hint=_READ_HINT) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass  # judged as binary below
    if b"\x00" in raw:
        raise ConfigError("the site config is a binary file, not TOML text", location=str(file),
                          detail=f"{len(raw)} bytes starting {raw[:16].hex(' ')}", hint=_READ_HINT)
    for encoding in ("utf-8-sig", "gb18030"):  # utf-8-sig also reads plain UTF-8; GB18030 is a superset of GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError("the site config is not text in a known encoding", location=str(file),
                      detail="tried UTF-8, UTF-16 with a byte-order mark and GBK/GB18030",
                      hint="save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)")
