"""Log lines as JSON, one object a line, for log collectors: time, level, logger, message, the
fields a line was given (`extra=`, such as the request log's) and a traceback, if any."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has, and uvicorn's copy of its message with terminal colours;
# whatever else a record carries came from `extra=`.
_LEFT_OUT = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {k: v for k, v in vars(record).items() if k not in _LEFT_OUT}
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# For `serve` (uvicorn applies it): every logger, uvicorn's included, writes JSON to stderr.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
}
