"""One root error and narrow subclasses. Messages say what was expected, what was found, what to do."""


class SparkOptimizerError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigurationError(SparkOptimizerError):
    """Thrown when a setting (file, environment variable or flag) has an unusable value."""


class TableSchemaError(SparkOptimizerError):
    """Thrown when data handed to a table does not match the table's declared schema."""


class TableNotFoundError(SparkOptimizerError):
    """Thrown when a table is read before anything was written to it."""


class EventLogError(SparkOptimizerError):
    """Thrown when an event log cannot be read or parsed; the message names the file and line."""


class EventLogNotFoundError(EventLogError):
    """Thrown when the path given for event logs does not exist or holds no event log."""
