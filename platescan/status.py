"""A record's statuses, on their own so that code which only names them needs no AWS SDK.

`platescan.records` (the DynamoDB writes) re-exports them; the Validate Plate stage, which
writes nothing, takes them from here.
"""

PROCESSING = "PROCESSING"
DONE = "DONE"
NO_PLATE = "NO_PLATE"
REJECTED = "REJECTED"
FAILED = "FAILED"
FINAL_STATUSES = frozenset({DONE, NO_PLATE, REJECTED, FAILED})
