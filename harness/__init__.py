"""hsa-cert: conformance harness for the national healthcare-security platform interfaces."""

from harness.errors import ConfigError, HsaCertError, InfrastructureError, ScenarioFormatError, SpecError
from harness.model import Exchange, Failure, Level, Outcome, ScenarioResult, SchemaViolation

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Exchange",
    "Failure",
    "HsaCertError",
    "InfrastructureError",
    "Level",
    "Outcome",
    "ScenarioFormatError",
    "ScenarioResult",
    "SchemaViolation",
    "SpecError",
    "__version__",
]
