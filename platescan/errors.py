"""Named errors raised by the pipeline's functions.

The state machine matches these names in `ErrorEquals` (a Lambda function's error name is
the exception's class name), so renaming one means changing the ASL too.
"""


class PlatescanError(Exception):
    """Base class of every error this project raises on purpose."""


class UnsupportedImage(PlatescanError):
    """The uploaded object is not an image we can read; permanent, written as REJECTED."""


class DetectorThrottled(PlatescanError):
    """The text detector asked us to slow down; transient, retried with backoff."""


class DetectorTimeout(PlatescanError):
    """The text detector did not answer in time; transient, retried."""


class DetectorUnavailable(PlatescanError):
    """The text detector failed on its side; transient, retried."""


class UploadAlreadyUsed(PlatescanError):
    """A second photo arrived for an upload id that already has one; it is not processed.

    One presigned POST yields at most one processed photo: posting the same form again puts
    a new object version under the same key, and the pipeline refuses it.
    """


class AlertNotPublished(PlatescanError):
    """EventBridge refused a "Plate Matched" event; transient, Write Result retries it."""


class RequestRefused(Exception):
    """A request the API refuses; `status` is the 4xx to answer with and `message` says why.

    Not a PlatescanError: the pipeline never raises it, and the API answers every subclass
    the same way (one exception handler).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
