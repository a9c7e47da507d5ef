# Cheap rules that run on the submitting machine under a cluster profile: an sbatch job
# for them would wait in the queue longer than it computes. (Plots and the report are
# declared local in rules/report.smk, the quick target's in rules/quick.smk.) Include after
# the rules it names.
localrules:
    estimate_passk,
