"""Developer and operator tools: `python -m platescan ...` (see `platescan.tools.cli`).

Benchmarks, cost and load estimates, redrive, the synthetic data set. They run on a
developer's machine or an operator's, never in Lambda: the function artefacts leave this
package out (infra/packaging.py).
"""
