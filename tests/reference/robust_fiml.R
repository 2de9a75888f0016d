# Reference values for coscale's robust ML with missing answers
# (estimator = "MLR", missing = "ml"), computed with lavaan 0.6.14.
#
# Run from the repository root:
#   Rscript tests/reference/fiml.R         # only if tests/data/holzinger1939_missing.csv is missing
#   Rscript tests/reference/robust_fiml.R
# Writes tests/reference/robust_fiml.json.
#
# Every case records the exact lavaan call ("call"), the model syntax
# ("model") and how the data were prepared ("data"). Conventions of the JSON
# (as robust.json / fiml.json):
#   * NA / NaN / Inf are written as null; numbers with all digits (digits = NA).
#   * fit_measures: fitMeasures(fit), lavaan's names ("chisq.scaling.factor", ...).
#   * estimates: parameterEstimates(fit) rows (lhs, op, rhs, group, est, se);
#     "group" is 1-based and refers to group_labels.
#   * options: lavInspect(fit, "options")[c("estimator", "missing", "information",
#     "h1.information", "observed.information", "se", "test", "meanstructure")].
#   * test: per element of fit@test, its name, stat, df, scaling.factor and
#     trace.UGamma; baseline_test: the same for fit@baseline$test (the
#     independence model, fitted by lavaan with the same options).
#   * fiml_corrected: lavaan:::lav_fit_fiml_corrected(fit, version = "V3"),
#     the "FIML-corrected" statistic (Zhang & Savalei) that fitMeasures uses
#     for cfi.robust / tli.robust / rmsea.robust under missing = "ml" in 0.6.14
#     (XX3 = the ML statistic of the model at the FIML estimates against the EM
#     moments treated as complete data, c.hat3 its scaling factor, and the same
#     for the baseline model).
#   * information: lavInspect(fit, "information") (observed, Hessian; the bread);
#     information_firstorder: lavInspect(fit, "information.first.order") (the
#     meat B0: mean outer product of the casewise scores, structured h1).

source("tests/reference/common.R")

# ---------------------------------------------------------------- helpers ----
opts <- function(fit) {
  o <- lavInspect(fit, "options")
  o[c("estimator", "missing", "information", "h1.information", "observed.information",
      "se", "test", "meanstructure", "em.h1.tol")]
}

robust_fiml_case <- function(fit, call, model, data_desc, extra = list()) {
  pe <- parameterEstimates(fit)
  cols <- intersect(c("lhs", "op", "rhs", "group", "label", "est", "se"), names(pe))
  ng <- lavInspect(fit, "ngroups")
  fc <- lavaan:::lav_fit_fiml_corrected(fit, version = "V3")
  out <- list(
    call = call,
    model = model,
    data = data_desc,
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    ntotal = lavInspect(fit, "ntotal"),
    nobs = I(as.integer(unlist(lavInspect(fit, "nobs")))),
    group_labels = I(if (ng > 1) lavInspect(fit, "group.label") else character(0)),
    options = opts(fit),
    fit_measures = fm_list(fit),
    test = test_list(fit@test),
    baseline_test = test_list(fit@baseline$test),
    fiml_corrected = fc,
    fiml_corrected_call = "lavaan:::lav_fit_fiml_corrected(fit, version = 'V3')",
    estimates = df_rows(pe[, cols])
  )
  c(out, extra)
}

# ------------------------------------------------------------------- data ----
HSM <- read.csv("tests/data/holzinger1939_missing.csv", stringsAsFactors = FALSE)
hsm_desc <- paste("tests/data/holzinger1939_missing.csv (written by tests/reference/fiml.R:",
                  "Holzinger-Swineford with about 8% of the answers missing, 2 empty rows)")

EX <- read_example()
ex_prep <- ex_prep_desc()

# ------------------------------------------------------------------ cases ----
cases <- list()

fit <- fit_w(cfa(HS.model, data = HSM, estimator = "MLR", missing = "ml"))
cases$hs_missing_mlr <- robust_fiml_case(
  fit, "cfa(HS.model, data = HSM, estimator = 'MLR', missing = 'ml')", HS.model, hsm_desc,
  list(information = mat(lavInspect(fit, "information")),
       information_call = "lavInspect(fit, 'information')  # observed (Hessian) unit information",
       information_firstorder = mat(lavInspect(fit, "information.first.order")),
       information_firstorder_call = "lavInspect(fit, 'information.first.order')  # B0, casewise scores"))

fit <- fit_w(cfa(EX.model, data = EX, estimator = "MLR", missing = "ml"))
cases$example_mlr <- robust_fiml_case(
  fit, "cfa(EX.model, data = EX, estimator = 'MLR', missing = 'ml')", EX.model, ex_prep)

# A just-identified model (df = 0): no scaling factor; lavaan's c.hat3 is k / 0 = Inf
HS.visual <- "visual =~ x1 + x2 + x3"
fit <- fit_w(cfa(HS.visual, data = HSM, estimator = "MLR", missing = "ml"))
cases$hs_visual_mlr <- robust_fiml_case(
  fit, "cfa(HS.visual, data = HSM, estimator = 'MLR', missing = 'ml')", HS.visual, hsm_desc)

# Holzinger-Swineford (with missing answers) by school: configural and scalar --
steps <- list(configural = NULL, scalar = c("loadings", "intercepts"))
fits <- list()
models <- list()
for (st in names(steps)) {
  geq <- steps[[st]]
  args <- list(HS.model, data = HSM, group = "school", estimator = "MLR", missing = "ml")
  if (!is.null(geq)) args$group.equal <- geq
  fits[[st]] <- fit_w(do.call("cfa", args))
  ge_txt <- if (is.null(geq)) "" else paste0(", group.equal = ", deparse(geq))
  call <- sprintf("cfa(HS.model, data = HSM, group = 'school', estimator = 'MLR', missing = 'ml'%s)", ge_txt)
  models[[st]] <- robust_fiml_case(fits[[st]], call, HS.model, hsm_desc)
}
lrt <- lavTestLRT(fits$configural, fits$scalar)
lrt_rows <- df_rows(cbind(model = names(fits), as.data.frame(lrt)))
stopifnot(identical(rownames(lrt), paste0("fits$", names(fits))))
lrt_rows$scaling.factor <- c(
  NA, lavaan:::lav_test_diff_SatorraBentler2001(fits$configural, fits$scalar)$scaling.factor)
cases$hs_missing_school_mlr <- list(
  models = models,
  lrt = lrt_rows,
  lrt_call = "lavTestLRT(configural, scalar)  # default method",
  lrt_heading = attr(lrt, "heading"),
  lrt_scaling_call = "lavaan:::lav_test_diff_SatorraBentler2001(configural, scalar)$scaling.factor"
)

out <- list(
  meta = ref_meta(
    "tests/reference/robust_fiml.R",
    conventions = paste(
      "NA/NaN/Inf -> null; data frames -> lists of row objects;",
      "matrices -> {names, values (row-major)}")
  ),
  cases = cases
)
write_ref(out, "tests/reference/robust_fiml.json")

# ----------------------------------------------------------- key numbers ----
k <- function(nm, cc) {
  f <- cc$fit_measures
  cat(sprintf(paste("%-34s chisq %8.3f scaled %8.3f c %.4f c0 %.4f df %3d cfi.sc %.4f cfi.rob %s tli.rob %s",
                    "rmsea.sc %.4f rmsea.rob %s; XX3 %.3f c.hat3 %.4f\n"),
              nm, f$chisq, f$chisq.scaled, f$chisq.scaling.factor, f$baseline.chisq.scaling.factor,
              as.integer(f$df), f$cfi.scaled, format(f$cfi.robust), format(f$tli.robust),
              f$rmsea.scaled, format(f$rmsea.robust), cc$fiml_corrected$XX3, cc$fiml_corrected$c.hat3))
  if (length(cc$warnings)) cat("   warnings:", cc$warnings, sep = "\n   ")
}
for (nm in names(cases)) {
  if (!is.null(cases[[nm]]$fit_measures)) {
    k(nm, cases[[nm]])
  } else {
    for (st in names(cases[[nm]]$models)) k(paste(nm, st), cases[[nm]]$models[[st]])
    print(cases[[nm]]$lrt)
  }
}
cat("wrote tests/reference/robust_fiml.json\n")
