"""The workshop: sandboxes, simulators, the legacy-export generator, the demo and the bench.

It exists to try, test and measure the pipeline. It may import production code; production code never imports it.
"""
