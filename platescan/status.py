"""A record's statuses, on their own so that code which only names them needs no AWS SDK.

`platescan.records` (the DynamoDB writes) re-exports them; the Validate Plate stage, which
writes nothing, takes them from here.
"""

# Written by the API when it issues an upload (owner, file name), before any photo arrives.
ISSUED = "ISSUED"
PROCESSING = "PROCESSING"
DONE = "DONE"
NO_PLATE = "NO_PLATE"
REJECTED = "REJECTED"
FAILED = "FAILED"
FINAL_STATUSES = frozenset({DONE, NO_PLATE, REJECTED, FAILED})
# What is left of a deleted upload for a day: it keeps a late pipeline run from writing the
# record again. It has no owner, so no one's search or export finds it.
DELETED = "DELETED"
