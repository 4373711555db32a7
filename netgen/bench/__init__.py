"""`netgen bench`: the measured cost of emitted modules on this machine, beside the counted one.

    timing.py   samples, median and percentiles, interleaved rounds (pure Python; benchmarks/ too)
    steps.py    the eval pass and the training step as calls (the only part importing torch)
    runner.py   cases (mode x batch x threads x compiled), the memory check, the measuring loop
    report.py   the JSON object (schema netgen.bench/1) and the terminal table

From Python:

    from netgen.bench.runner import Settings, Subject, run
    subject = Subject.of("lenet5", netgen.compile_blueprint("lenet5"))
    results = run([subject], Settings(batches=(1, 16), modes=("eval", "train")))
"""
