"""hsa-cert: conformance harness for the national healthcare-security platform interfaces."""

from harness.errors import ConfigError, HsaCertError, InfrastructureError, ScenarioFormatError, SpecError
from harness.model import Exchange, Failure, Level, Outcome, ScenarioResult, SchemaViolation
from harness.resources import tool_version as _tool_version

__version__ = _tool_version()  # declared once, in pyproject.toml

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
