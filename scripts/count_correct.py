import re

import pandas as pd

from rlvr_boundary.grading.counting import count_correct
from rlvr_boundary.workflow.job_io import start_job, write_parquet

start_job(snakemake.log[0])
PATH = re.compile(r"results/scored/(?P<model>[^/]+)/(?P<benchmark>[^/]+)/T(?P<temperature>[0-9.]+)\.parquet$")
frames = []
for path in snakemake.input.scored:
    key = PATH.search(path).groupdict()
    frames.append(count_correct(pd.read_parquet(path), key["model"], key["benchmark"],
                                float(key["temperature"]), snakemake.params.metrics))
write_parquet(pd.concat(frames, ignore_index=True), snakemake.output.counts)
