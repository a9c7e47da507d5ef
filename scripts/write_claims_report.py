import json

import pandas as pd

from rlvr_boundary.analyses.algorithm_study import c6_rows
from rlvr_boundary.report.boundary_claims import boundary_claim_rows, c3_perplexity_rows
from rlvr_boundary.report.claims import evaluate_claims, with_seed_spread
from rlvr_boundary.analyses.cot_judge import judge_report_section
from rlvr_boundary.analyses.cot_validity import COT_COLUMNS
from rlvr_boundary.analyses.coverage import (
    benchmark_problems,
    benchmark_weights,
    coverage_table,
    select_counts,
)
from rlvr_boundary.report.markdown import assemble_claims, name_missing_inputs, render_markdown
from rlvr_boundary.report.precision import bayes_section, power_section
from rlvr_boundary.report.published import published_report_section
from rlvr_boundary.report.run_record import machines_section
from rlvr_boundary.report.sections import (
    algorithms_section,
    grading_section,
    stop_reasons_section,
    real_section,
    regimes_section,
    seeds_section,
    temperature_section,
    training_length_section,
)
from rlvr_boundary.workflow.job_io import start_job, write_json, write_text

start_job(snakemake.log[0])
p, given = snakemake.params, snakemake.input.keys()
a = p.analysis
settings = {"metric": a["claim_metric"], "temperature": a["claim_temperature"],
            "n_resamples": a["bootstrap_resamples"], "seed": p.seed, "ci_level": a["ci_level"],
            "not_computed": p.missing}
registry = pd.read_csv(snakemake.input.registry, keep_default_na=False)
counts = pd.read_parquet(snakemake.input.counts)
rows = evaluate_claims(counts, registry, settings)
if "crossover_spread" in given and "seeds" in p.studies:
    rows = with_seed_spread(rows, pd.read_csv(snakemake.input.crossover_seeds),
                            pd.read_csv(snakemake.input.crossover_spread))
study_rows = []
if "algorithm_gap" in given:
    study = p.algorithm_study
    study_rows += c6_rows(pd.read_csv(snakemake.input.algorithm_gap),
                          pd.read_csv(snakemake.input.algorithm_pairs), study["family"],
                          study["regime"], study["margin"], study["threshold"], settings["metric"],
                          level=settings["ci_level"])
if "coverage" in given:
    thresholds = a["boundary"]
    perplexity_rows = (c3_perplexity_rows(pd.read_csv(snakemake.input.perplexity_shift), registry,
                                          settings["metric"], thresholds["perplexity_margin"],
                                          level=settings["ci_level"])
                       if "perplexity_shift" in given else [])
    # No cot_validity table where C5 waits for annotations (the report names the file).
    cot = (pd.read_csv(snakemake.input.cot_validity) if "cot_validity" in given
           else pd.DataFrame(columns=COT_COLUMNS))
    # Per-problem solved sets (the coverage analysis's own, recomputed from the counts) give
    # the pooled shares of C3, C4 and C5 their stratified bootstrap CIs.
    _, problems = coverage_table(counts, registry, settings["metric"], settings["temperature"],
                                 settings["n_resamples"], p.seed, settings["ci_level"])
    weights = benchmark_weights(benchmark_problems(
        select_counts(counts, settings["metric"], settings["temperature"])),
        settings["n_resamples"], p.seed)
    study_rows += boundary_claim_rows(
        pd.read_csv(snakemake.input.coverage), pd.read_csv(snakemake.input.accuracy_histogram),
        cot, registry, rows, settings["metric"],
        support_share=thresholds["support_share"], expansion_margin=thresholds["expansion_margin"],
        majority=thresholds["cot_majority"], level=settings["ci_level"],
        c3_other_tests=perplexity_rows, problems=problems, weights=weights)
rows = name_missing_inputs(assemble_claims(rows, study_rows), p.missing)

sections = []
if "bayes_at_n" in given:
    sections.append(bayes_section(pd.read_csv(snakemake.input.bayes_at_n), settings["metric"],
                                  settings["temperature"]))
if "power" in given:
    sections.append(power_section(pd.read_csv(snakemake.input.power), settings["ci_level"]))
if "algorithm_gap" in given:
    sections.append(algorithms_section(pd.read_csv(snakemake.input.algorithm_gap)))
if "training_length" in given:
    sections.append(training_length_section(pd.read_csv(snakemake.input.training_length)))
if "regimes" in given:
    sections.append(regimes_section(pd.read_csv(snakemake.input.regimes)))
if "crossover_spread" in given and "seeds" in p.studies:
    sections.append(seeds_section(pd.read_csv(snakemake.input.crossover_seeds),
                                  pd.read_csv(snakemake.input.crossover_spread)))
if "temperature_study" in given:
    sections.append(temperature_section(pd.read_csv(snakemake.input.temperature_study)))
if "cot_judge" in given:  # checkpoint studies: C5's judge and its agreement with people
    sections.append(judge_report_section(pd.read_csv(snakemake.input.cot_judge),
                                         pd.read_csv(snakemake.input.cot_validity),
                                         a["cot_judge"]["model"]))
if "grading" in given:
    sections.append(grading_section(pd.read_csv(snakemake.input.grading)))
if "stop_reasons" in given:
    sections.append(stop_reasons_section(pd.read_csv(snakemake.input.stop_reasons,
                                                     keep_default_na=False)))
if "real_report" in given:
    sections.append(real_section(open(snakemake.input.real_report).read()))
if "published" in given:  # checkpoint studies: pass@k against the paper's printed numbers
    sections.append(published_report_section(snakemake.input.passk, registry,
                                             snakemake.input.published, a["published"]))
if "provenance" in given:  # checkpoint studies: where the GPU jobs ran
    sections.append(machines_section(json.loads(open(snakemake.input.provenance).read())))
write_json(rows, snakemake.output.json)
write_text(render_markdown(rows, settings, p.context, sections), snakemake.output.markdown)
