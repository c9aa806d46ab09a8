"""Whether the driver can use a MongoDB URL, asked before anything connects: the driver's own
error would come as a traceback, from the client or, for an SRV record, from the first call."""

import warnings

from pymongo.errors import ConfigurationError
from pymongo.uri_parser import parse_uri


def url_problem(url: str) -> str | None:
    """Why the driver cannot use `url`, or None. The driver's reasons name no credentials."""
    try:
        with warnings.catch_warnings():
            # Options it does not know the client warns of, and then ignores; that warning is its own.
            warnings.simplefilter("ignore")
            parse_uri(url, warn=True)  # an SRV record is looked up, as the client would
    except (ConfigurationError, ValueError) as error:  # InvalidURI is a ConfigurationError
        return str(error)
    return None
