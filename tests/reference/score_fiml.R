# Reference values for coscale's score tests (coscale/stats/lagrange.py) under
# FIML (missing = "ml"), computed with lavaan 0.6.14.
#
# Run from the repository root (after tests/reference/fiml.R, which writes the
# amputed data):
#   Rscript tests/reference/score_fiml.R
# Writes tests/reference/score_fiml.json.
#
# Data: tests/data/holzinger1939_missing.csv (HSM: Holzinger-Swineford with
# ~8% missing answers, see fiml.R). Model HS.model (three factors).
#
# Conventions (as invariance.json):
#   * NA / NaN / Inf are written as null; data frames are lists of row objects.
#   * lavTestScore $uni rows name constraints by parameter labels (.pX.);
#     "plabels" maps each .pX. to lhs/op/rhs/group (parTable(fit)), and each
#     uni row is annotated with the parameter of its lhs label (param_lhs,
#     param_op, param_rhs, param_group) and the group of its rhs label.
#   * lavTestScore has its own argument information = "expected" (default),
#     whatever lavoptions$information says ("observed" under missing = "ml"):
#     "uni" is lavTestScore(fit)$uni, "uni_observed" is
#     lavTestScore(fit, information = "observed")$uni, and "options" records
#     lavInspect(fit, "options")$information.
#   * modindices(fit) has information = "expected" by default too.

source("tests/reference/common.R")

score_case <- function(fit, call) {
  pl <- plabel_rows(fit)
  st <- lavTestScore(fit)
  so <- lavTestScore(fit, information = "observed")
  list(
    call = call,
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    group_labels = I(lavInspect(fit, "group.label")),
    ntotal = lavInspect(fit, "ntotal"),
    chisq = unname(fitMeasures(fit, "chisq")),
    df = unname(fitMeasures(fit, "df")),
    options = list(missing = lavInspect(fit, "options")$missing[1],
                   information = lavInspect(fit, "options")$information[1]),
    score = list(call = "lavTestScore(fit)", test = df_rows(st$test), uni = annotate_uni(st$uni, pl)),
    score_observed = list(call = "lavTestScore(fit, information = 'observed')",
                          test = df_rows(so$test), uni = annotate_uni(so$uni, pl)),
    plabels = pl
  )
}

HSM <- read.csv("tests/data/holzinger1939_missing.csv")
HS <- read_hs()

cases <- list()

fit <- fit_w(cfa(HS.model, data = HSM, group = "school", group.equal = c("loadings", "intercepts"),
                 missing = "ml"))
cases$hsm_scalar <- score_case(
  fit, "cfa(HS.model, data = HSM, group = 'school', group.equal = c('loadings', 'intercepts'), missing = 'ml')")

fit <- fit_w(cfa(HS.model, data = HSM, group = "school", group.equal = "loadings", missing = "ml"))
cases$hsm_metric <- score_case(
  fit, "cfa(HS.model, data = HSM, group = 'school', group.equal = 'loadings', missing = 'ml')")

# complete data, for the information = "observed" variant (the expected one is in invariance.json)
fit <- fit_w(cfa(HS.model, data = HS, group = "school", group.equal = c("loadings", "intercepts")))
cases$hs_scalar <- score_case(
  fit, "cfa(HS.model, data = HS, group = 'school', group.equal = c('loadings', 'intercepts'))")

fit <- fit_w(cfa(HS.model, data = HSM, missing = "ml"))
cases$hsm_single <- list(
  call = "cfa(HS.model, data = HSM, missing = 'ml')",
  converged = lavInspect(fit, "converged"),
  ntotal = lavInspect(fit, "ntotal"),
  chisq = unname(fitMeasures(fit, "chisq")),
  options = list(missing = lavInspect(fit, "options")$missing[1],
                 information = lavInspect(fit, "options")$information[1]),
  modindices_call = "modindices(fit, sort. = TRUE)[1:10, ]",
  modindices_top10 = mi_top(fit),
  modindices_observed_call = "modindices(fit, sort. = TRUE, information = 'observed')[1:10, ]",
  modindices_observed_top10 = mi_top(fit, information = "observed")
)

out <- list(
  meta = ref_meta(
    "tests/reference/score_fiml.R",
    data = "tests/data/holzinger1939_missing.csv (written by tests/reference/fiml.R); tests/data/holzinger1939.csv",
    model = HS.model,
    note = paste("lavTestScore() and modindices() default to information = 'expected' even when",
                 "lavoptions$information is 'observed' (missing = 'ml')")
  ),
  cases = cases
)
write_ref(out, "tests/reference/score_fiml.json")

for (nm in c("hsm_scalar", "hsm_metric", "hs_scalar")) {
  u <- cases[[nm]]$score$uni
  o <- cases[[nm]]$score_observed$uni
  cat(sprintf("%-11s info %-8s largest expected %s%s%s X2 %.4f (observed-information X2 %.4f)\n", nm,
              cases[[nm]]$options$information, u$param_lhs[which.max(u$X2)], u$param_op[which.max(u$X2)],
              u$param_rhs[which.max(u$X2)], max(u$X2), o$X2[which.max(u$X2)]))
}
cat("wrote tests/reference/score_fiml.json\n")
