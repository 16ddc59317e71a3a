"""Local mode: the whole pipeline on moto, in one process, with no AWS account."""
