"""The synthetic-person catalogue: hand-written fixtures made into concrete, seeded identities.

`fixtures/catalogue/*.json` defines regions, institutions, the treating region's catalogue items,
insured-region policies and archetypes (test people with a guaranteed behaviour). This module
turns each archetype into one identity: a Chinese name (Faker zh_CN, the only Faker user in the
package), a resident ID number with a valid GB 11643-1999 check digit, a person number and a
social-security card. The same seed gives the same catalogue on every run and machine: every
random draw comes from a generator seeded with a SHA-256 of (seed, archetype), never from
`hash()`, dict order, the clock or the locale. Filing dates stay offsets from "today".
"""

from harness.personas.catalogue import CATALOGUE_DIR, DEFAULT_SEED, Catalogue, load_catalogue
from harness.personas.checkdigit import gb11643_check_digit, is_valid_certno
from harness.personas.records import (
    SYNTHETIC_SITE_VALUES,
    Archetype,
    Institution,
    Item,
    Persona,
    Policy,
    PolicyRate,
    Region,
    filing_dates,
)

__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_SEED",
    "SYNTHETIC_SITE_VALUES",
    "Archetype",
    "Catalogue",
    "Institution",
    "Item",
    "Persona",
    "Policy",
    "PolicyRate",
    "Region",
    "filing_dates",
    "gb11643_check_digit",
    "is_valid_certno",
    "load_catalogue",
]
