# Reference values for coscale's robust ML (estimator = "MLM" and "MLR",
# complete data), computed with lavaan 0.6.14.
#
# Run from the repository root:
#   Rscript tests/reference/holzinger_data.R   # only if tests/data/holzinger1939.csv is missing
#   Rscript tests/reference/robust.R
# Writes tests/reference/robust.json.
#
# Every case records the exact lavaan call ("call"), the model syntax
# ("model") and how the data were prepared ("data"). Conventions of the JSON:
#   * NA / NaN / Inf are written as null; numbers with all digits (digits = NA).
#   * fit_measures keeps lavaan's names ("chisq.scaling.factor", ...).
#   * estimates are parameterEstimates(fit) rows (lhs, op, rhs, group, est, se).
#   * options: lavInspect(fit, "options")[c("estimator", "information",
#     "h1.information", "observed.information", "se", "test", "meanstructure")].
#   * test: per element of fit@test, its name, stat, df, scaling.factor and
#     trace.UGamma (what fitMeasures builds the scaled and robust indices from).
#   * Matrices are {"names": [...], "values": [[row], ...]} (row-major).

source("tests/reference/common.R")

# ---------------------------------------------------------------- helpers ----
opts <- function(fit) {
  o <- lavInspect(fit, "options")
  o[c("estimator", "information", "h1.information", "observed.information",
      "se", "test", "meanstructure", "missing")]
}

robust_case <- function(fit, call, model, data_desc, extra = list()) {
  pe <- parameterEstimates(fit)
  cols <- intersect(c("lhs", "op", "rhs", "group", "label", "est", "se"), names(pe))
  out <- list(
    call = call,
    model = model,
    data = data_desc,
    converged = lavInspect(fit, "converged"),
    ntotal = lavInspect(fit, "ntotal"),
    nobs = as.integer(unlist(lavInspect(fit, "nobs"))),
    group_labels = I(lavInspect(fit, "group.label")),
    options = opts(fit),
    fit_measures = fm_list(fit),
    test = test_list(fit@test),
    estimates = df_rows(pe[, cols])
  )
  c(out, extra)
}

# ------------------------------------------------------------------- data ----
HS <- read_hs()
EX <- read_example()
ex_prep <- ex_prep_desc("listwise deletion on the 20 model items")

# ------------------------------------------------------------------ cases ----
cases <- list()

# Holzinger-Swineford, one group ---------------------------------------------
fit <- cfa(HS.model, data = HS, estimator = "MLM")
cases$hs3_mlm <- robust_case(
  fit, "cfa(HS.model, data = HS, estimator = 'MLM')", HS.model, hs_desc,
  list(gamma = mat(lavInspect(fit, "gamma")),
       gamma_call = "lavInspect(fit, 'gamma')  # NACOV, divisor N, vech order of lavaan",
       information = mat(lavInspect(fit, "information")),
       information_call = "lavInspect(fit, 'information')  # expected unit information"))

fit <- cfa(HS.model, data = HS, estimator = "MLR")
cases$hs3_mlr <- robust_case(
  fit, "cfa(HS.model, data = HS, estimator = 'MLR')", HS.model, hs_desc,
  list(information = mat(lavInspect(fit, "information")),
       information_call = "lavInspect(fit, 'information')  # observed (Hessian) unit information",
       information_firstorder = mat(lavInspect(fit, "information.first.order")),
       information_firstorder_call = "lavInspect(fit, 'information.first.order')  # B0, casewise scores"))

fit <- cfa(HS.model, data = HS, estimator = "MLR", meanstructure = TRUE)
cases$hs3_mlr_meanstructure <- robust_case(
  fit, "cfa(HS.model, data = HS, estimator = 'MLR', meanstructure = TRUE)", HS.model, hs_desc)

fit <- cfa(HS.model, data = HS, estimator = "MLM", meanstructure = TRUE)
cases$hs3_mlm_meanstructure <- robust_case(
  fit, "cfa(HS.model, data = HS, estimator = 'MLM', meanstructure = TRUE)", HS.model, hs_desc)

# A just-identified model (df = 0): no scaling factor, robust RMSEA 0 ----------
HS.visual <- "visual =~ x1 + x2 + x3"
for (est in c("MLM", "MLR")) {
  fit <- cfa(HS.visual, data = HS, estimator = est)
  cases[[paste0("hs_visual_", tolower(est))]] <- robust_case(
    fit, sprintf("cfa(HS.visual, data = HS, estimator = '%s')", est), HS.visual, hs_desc)
}

# The example survey ----------------------------------------------------------
fit <- cfa(EX.model, data = EX, estimator = "MLM", missing = "listwise")
cases$example_mlm <- robust_case(
  fit, "cfa(EX.model, data = EX, estimator = 'MLM', missing = 'listwise')", EX.model, ex_prep)

fit <- cfa(EX.model, data = EX, estimator = "MLR", missing = "listwise")
cases$example_mlr <- robust_case(
  fit, "cfa(EX.model, data = EX, estimator = 'MLR', missing = 'listwise')", EX.model, ex_prep)

# Holzinger-Swineford by school: configural, metric, scalar -------------------
steps <- list(configural = NULL, metric = "loadings", scalar = c("loadings", "intercepts"))
for (est in c("MLR", "MLM")) {
  fits <- list()
  models <- list()
  for (st in names(steps)) {
    geq <- steps[[st]]
    args <- list(HS.model, data = HS, group = "school", estimator = est)
    if (!is.null(geq)) args$group.equal <- geq
    fits[[st]] <- do.call("cfa", args)
    ge_txt <- if (is.null(geq)) "" else paste0(", group.equal = ", deparse(geq))
    call <- sprintf("cfa(HS.model, data = HS, group = 'school', estimator = '%s'%s)", est, ge_txt)
    models[[st]] <- robust_case(fits[[st]], call, HS.model, hs_desc)
  }
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  lrt_rows <- df_rows(cbind(model = names(fits), as.data.frame(lrt)))  # rows in lavaan's order (by df)
  stopifnot(identical(rownames(lrt), paste0("fits$", names(fits))))
  # the difference scaling factor c_d (Satorra & Bentler 2001), not printed by lavTestLRT
  cd <- c(NA,
          lavaan:::lav_test_diff_SatorraBentler2001(fits$configural, fits$metric)$scaling.factor,
          lavaan:::lav_test_diff_SatorraBentler2001(fits$metric, fits$scalar)$scaling.factor)
  lrt_rows$scaling.factor <- cd
  cases[[paste0("hs_school_", tolower(est))]] <- list(
    models = models,
    lrt = lrt_rows,
    lrt_call = "lavTestLRT(configural, metric, scalar)  # default method",
    lrt_heading = attr(lrt, "heading"),
    lrt_scaling_call = "lavaan:::lav_test_diff_SatorraBentler2001(less, more)$scaling.factor"
  )
}

out <- list(
  meta = ref_meta(
    "tests/reference/robust.R",
    conventions = paste(
      "NA/NaN/Inf -> null; data frames -> lists of row objects;",
      "matrices -> {names, values (row-major)}")
  ),
  cases = cases
)
write_ref(out, "tests/reference/robust.json")

# ----------------------------------------------------------- key numbers ----
k <- function(nm, f) {
  cat(sprintf("%-34s chisq %8.3f scaled %8.3f c %.4f df %3d cfi.rob %.4f tli.rob %.4f rmsea.rob %.4f [%.4f, %.4f]\n",
              nm, f$chisq, f$chisq.scaled, f$chisq.scaling.factor, as.integer(f$df),
              f$cfi.robust, f$tli.robust, f$rmsea.robust, f$rmsea.ci.lower.robust,
              f$rmsea.ci.upper.robust))
}
for (nm in names(cases)) {
  if (!is.null(cases[[nm]]$fit_measures)) {
    k(nm, cases[[nm]]$fit_measures)
  } else {
    for (st in names(cases[[nm]]$models)) k(paste(nm, st), cases[[nm]]$models[[st]]$fit_measures)
    print(cases[[nm]]$lrt)
  }
}
cat("wrote tests/reference/robust.json\n")
