# Cheap rules that run on the submitting machine under a cluster profile: an sbatch job
# for them would wait in the queue longer than it computes. (Plots and the report are
# declared local in rules/report.smk.) Include after the rules it names.
localrules:
    estimate_passk,
    estimate_passk_quick,
