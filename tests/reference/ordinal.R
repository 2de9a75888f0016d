# Reference values for coscale's ordinal CFA (WLSMV), polychoric correlations,
# thresholds, their asymptotic covariance matrix (NACOV) and ordinal
# reliability, computed with lavaan 0.6.14, semTools and psych.
#
# Run from the repository root:
#   Rscript tests/reference/ordinal.R
# Writes tests/data/holzinger1939_ordinal.csv (the discretised
# Holzinger-Swineford items, so Python reads exactly the same categories)
# and tests/reference/ordinal.json.
#
# Every case records the exact lavaan call ("call"), the model syntax
# ("model") and how the data were prepared ("data").
# Conventions of the JSON (as cfa.json):
#   * NA / NaN / Inf are written as null; numbers with full precision (digits = NA).
#   * Data frames are lists of row objects (column name -> value).
#   * Matrices are {"names": [...], "values": [[row], ...]} (row-major).
#   * fit_measures keeps lavaan's names ("chisq.scaled", "rmsea.robust", ...).

source("tests/reference/common.R")
suppressPackageStartupMessages({
  library(semTools)
  library(psych)
})

# ---------------------------------------------------------------- helpers ----
test_info <- function(t) {
  keep <- c("test", "stat", "df", "pvalue", "scaling.factor", "shift.parameter",
            "trace.UGamma", "trace.UGamma2")
  out <- list()
  for (k in keep) if (!is.null(t[[k]])) out[[k]] <- unname(t[[k]])
  out
}

# polychoric correlations, thresholds and NACOV of the items (two-step, as lavaan)
polychoric_part <- function(data, gamma_full = TRUE) {
  R <- lavCor(data, ordered = TRUE)
  TH <- lavCor(data, ordered = TRUE, output = "th")
  out <- list(
    polychoric_call = "lavCor(data, ordered = TRUE)",
    polychoric = mat(R),
    thresholds_call = "lavCor(data, ordered = TRUE, output = 'th')",
    thresholds = vec(TH)
  )
  out
}

ordinal_case <- function(fit, call, model, data_desc, data, scales, gamma_full = TRUE) {
  ss <- lavInspect(fit, "sampstat")
  imp <- lavInspect(fit, "implied")
  G <- lavInspect(fit, "gamma")
  nth <- length(ss$th)
  gamma <- list(
    call = "lavInspect(fit, 'gamma')  # NACOV: thresholds, then vech(R) without diagonal (column-wise)",
    names = rownames(G),
    diag = unname(diag(G))
  )
  if (gamma_full) {
    gamma$values <- unname(unclass(G))
  } else {
    rows <- c(1:3, nth + 1:3)
    gamma$rows_index = rows  # 1-based rows of the full matrix
    gamma$rows <- unname(unclass(G)[rows, ])
  }
  tst <- lavInspect(fit, "test")
  base <- fit@baseline$test
  catml <- lavaan:::lav_fit_catml_dwls(fit)
  rel_ord <- compRelSEM(fit)
  rel_cont <- compRelSEM(fit, ord.scale = FALSE)
  R <- unclass(ss$cov)
  alpha <- list()
  for (f in names(scales)) {
    a <- psych::alpha(R[scales[[f]], scales[[f]]], warnings = FALSE)
    alpha[[f]] <- unname(a$total$raw_alpha)
  }
  out <- list(
    call = call,
    model = model,
    data = data_desc,
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    ntotal = lavInspect(fit, "ntotal"),
    options = list(estimator = lavInspect(fit, "options")$estimator,
                   parameterization = lavInspect(fit, "options")$parameterization,
                   test = lavInspect(fit, "options")$test,
                   se = lavInspect(fit, "options")$se),
    fit_measures = fm_list(fit),
    test = lapply(tst, test_info),
    baseline_test = lapply(base, test_info),
    catml_dwls_call = "lavaan:::lav_fit_catml_dwls(fit)  # ingredients of cfi/tli/rmsea .robust",
    catml_dwls = lapply(catml, unname),
    estimates = pe_rows(fit),
    sampstat = list(cor = mat(ss$cov), th = vec(ss$th)),
    implied = list(cor = mat(imp$cov), th = vec(imp$th)),
    gamma = gamma,
    compRelSEM_call = "semTools::compRelSEM(fit)  # ord.scale = TRUE: Green & Yang (2009) categorical omega",
    compRelSEM = vec(rel_ord),
    compRelSEM_latent_call = "semTools::compRelSEM(fit, ord.scale = FALSE)",
    compRelSEM_latent = vec(rel_cont),
    ordinal_alpha_call = "psych::alpha(R[items, items])$total$raw_alpha, R = lavInspect(fit, 'sampstat')$cov (polychoric)",
    ordinal_alpha = alpha,
    scales = scales
  )
  c(out, polychoric_part(data))
}

# ------------------------------------------------------------------- data ----
HS <- read_hs()
# fixed (not quantile-based) cut points per item: 4 ordered categories 1..4,
# cut(x, c(-Inf, b1, b2, b3, Inf), labels = FALSE) (intervals closed on the right)
hs_breaks <- list(
  x1 = c(4, 5, 6), x2 = c(5.25, 6, 6.75), x3 = c(1.25, 2, 3),
  x4 = c(2, 3, 4), x5 = c(3, 4.25, 5.25), x6 = c(1.3, 2, 3),
  x7 = c(3.3, 4, 5), x8 = c(4.7, 5.5, 6.2), x9 = c(4.5, 5.25, 6)
)
HSord <- as.data.frame(lapply(names(hs_breaks), function(v)
  cut(HS[[v]], c(-Inf, hs_breaks[[v]], Inf), labels = FALSE)))
names(HSord) <- names(hs_breaks)
HSord$school <- HS$school   # grouping variable of the invariance cases
write.csv(HSord, "tests/data/holzinger1939_ordinal.csv", row.names = FALSE)
hsord_desc <- paste(
  "tests/data/holzinger1939_ordinal.csv: x1..x9 of tests/data/holzinger1939.csv cut into 4 categories",
  "(plus its school column),",
  "cut(x, c(-Inf, b, Inf), labels = FALSE) with b =",
  paste(sprintf("%s: %s", names(hs_breaks),
                vapply(hs_breaks, function(b) paste(b, collapse = "/"), "")), collapse = "; "))

ex_items <- unlist(ex_scales, use.names = FALSE)
EX <- read_example()
EXc <- EX[complete.cases(EX[ex_items]), ex_items]
EXg <- EX[complete.cases(EX[c("role", ex_items)]), c("role", ex_items)]
ex_desc <- ex_prep_desc("EXc = rows complete on the 20 items (listwise)")

# ------------------------------------------------------------------ cases ----
cases <- list()

fit <- fit_w(cfa(HS.model, data = HSord, ordered = TRUE, estimator = "WLSMV"))
cases$hs_ordinal <- ordinal_case(
  fit, "cfa(HS.model, data = HSord, ordered = TRUE, estimator = 'WLSMV')",
  HS.model, hsord_desc, HSord[names(hs_breaks)], hs_scales)

fit <- fit_w(cfa(HS.model, data = HSord, ordered = TRUE, estimator = "WLSMV", std.lv = TRUE))
cases$hs_ordinal_stdlv <- ordinal_case(
  fit, "cfa(HS.model, data = HSord, ordered = TRUE, estimator = 'WLSMV', std.lv = TRUE)",
  HS.model, hsord_desc, HSord[names(hs_breaks)], hs_scales, gamma_full = FALSE)

fit <- fit_w(cfa(EX.model, data = EXc, ordered = TRUE, estimator = "WLSMV"))
cases$example_ordinal <- ordinal_case(
  fit, "cfa(EX.model, data = EXc, ordered = TRUE, estimator = 'WLSMV')",
  EX.model, ex_desc, EXc, ex_scales, gamma_full = FALSE)

# the planted misspecification of the example (README): a cross-loading and a
# residual correlation, to check residual covariances under the delta parameterization
EX.extra <- paste(EX.model, "motives_self =~ mcc3", "msc1 ~~ mcc1", sep = "\n")
fit <- fit_w(cfa(EX.extra, data = EXc, ordered = TRUE, estimator = "WLSMV"))
cases$example_ordinal_extra <- ordinal_case(
  fit, "cfa(EX.extra, data = EXc, ordered = TRUE, estimator = 'WLSMV')",
  EX.extra, ex_desc, EXc, ex_scales, gamma_full = FALSE)

# -------------------------------------------------- invariance (ordinal) ----
# Wu & Estabrook (2016) identification as semTools::measEq.syntax sets it up
# (delta parameterization, ID.fac = "std.lv"): configural -> thresholds ->
# + loadings -> + intercepts.
we_steps <- list(configural = "", thresholds = "thresholds",
                 loadings = c("thresholds", "loadings"),
                 intercepts = c("thresholds", "loadings", "intercepts"))

pe_compact <- function(fit) {
  pe_rows(fit)[, c("lhs", "op", "rhs", "group", "label", "est", "se", "z", "std.lv", "std.all")]
}

group_case <- function(fit, call, syntax, model, data_desc, group, sampstat = TRUE) {
  ss <- lavInspect(fit, "sampstat")
  labels <- lavInspect(fit, "group.label")
  catml <- try(lavaan:::lav_fit_catml_dwls(fit), silent = TRUE)
  list(
    call = call,
    syntax = syntax,
    model = model,
    data = data_desc,
    group = group,
    group_labels = labels,
    nobs = unlist(lavInspect(fit, "nobs")),
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    ntotal = lavInspect(fit, "ntotal"),
    fit_measures = fm_list(fit),
    test = lapply(lavInspect(fit, "test"), test_info),
    baseline_test = lapply(fit@baseline$test, test_info),
    catml_dwls = if (inherits(catml, "try-error")) NULL else lapply(catml, unname),
    estimates = pe_compact(fit),
    sampstat = if (sampstat) setNames(lapply(labels, function(g)
      list(cor = mat(ss[[g]]$cov), th = vec(ss[[g]]$th))), labels) else NULL,
    gamma_diag = if (sampstat) setNames(lapply(lavInspect(fit, "gamma"), function(G) unname(diag(G))),
                                        labels) else NULL
  )
}

invariance_ladder <- function(model, data, items, group, data_desc, prefix) {
  fits <- list()
  for (step in names(we_steps)) {
    ge <- we_steps[[step]]
    syn <- measEq.syntax(configural.model = model, data = data, ordered = items,
                         parameterization = "delta", ID.fac = "std.lv",
                         ID.cat = "Wu.Estabrook.2016", group = group,
                         group.equal = if (ge[1] == "") "" else ge)
    syntax <- as.character(syn)
    fit <- fit_w(cfa(syntax, data = data, group = group, ordered = items,
                     estimator = "WLSMV", parameterization = "delta"))
    fits[[step]] <- fit
    call <- sprintf(paste0("cfa(as.character(measEq.syntax(configural.model = model, data, ordered = items, ",
                           "parameterization = 'delta', ID.fac = 'std.lv', ID.cat = 'Wu.Estabrook.2016', ",
                           "group = '%s', group.equal = %s)), data, group = '%s', ordered = items, ",
                           "estimator = 'WLSMV', parameterization = 'delta')"),
                    group, deparse(ge), group)
    cases[[paste0(prefix, "_", step)]] <<- group_case(fit, call, syntax, model, data_desc, group,
                                                      sampstat = step == "configural")
  }
  lrt <- lavTestLRT(fits$configural, fits$thresholds, fits$loadings, fits$intercepts)
  cases[[paste0(prefix, "_lrt")]] <<- list(
    call = "lavTestLRT(configural, thresholds, loadings, intercepts)  # method = 'satorra.2000'",
    table = df_rows(cbind(model = rownames(lrt), as.data.frame(lrt))))
}

invariance_ladder(HS.model, HSord, names(hs_breaks), "school",
                  paste(hsord_desc, "; grouped by school"), "hs_we")
invariance_ladder(EX.model, EXg, ex_items, "role",
                  paste(ex_desc, "; EXg = rows complete on role and the 20 items; grouped by role"),
                  "example_we")

# binary and three-category items: 2 x 2 tables (lavaan's zero.add = c(0.5, 0)
# with zero.keep.margins), one with an empty cell, and a 2 x 3 table with one
set.seed(20240611)
z <- MASS::mvrnorm(200, rep(0, 4), matrix(c(1, .5, .4, .6, .5, 1, .3, .5, .4, .3, 1, .4, .6, .5, .4, 1), 4))
BIN <- data.frame(b1 = 1 + (z[, 1] > -0.3), b2 = 1 + (z[, 2] > 0.4), b3 = 1 + (z[, 3] > 0),
                  c4 = as.integer(cut(z[, 4], c(-Inf, -0.5, 0.7, Inf))))
BIN$b3[BIN$b1 == 1 & BIN$b3 == 2] <- 1   # empty cell (b1 = 1, b3 = 2)
BIN$c4[BIN$b2 == 2 & BIN$c4 == 1] <- 2   # empty cell (b2 = 2, c4 = 1)
bin_fit <- cfa("f =~ b1 + b2 + b3 + c4", data = BIN, ordered = TRUE, estimator = "WLSMV")
G <- lavInspect(bin_fit, "gamma")
cases$binary <- c(list(call = "lavCor(BIN, ordered = TRUE)",
                       data = "simulated in tests/reference/ordinal.R (set.seed(20240611)); the rows are in 'rows'",
                       rows = BIN),
                  polychoric_part(BIN),
                  list(gamma = list(call = "lavInspect(cfa('f =~ b1 + b2 + b3 + c4', data = BIN, ordered = TRUE), 'gamma')",
                                    names = rownames(G), values = unname(unclass(G)))))

# bivariate normal CDF (pbivnorm, as lavaan uses) on a grid, incl. |rho| near and at 1
set.seed(1)
h <- c(rnorm(40, sd = 1.5), -6, 6, 0, 0.5)
k <- c(rnorm(40, sd = 1.5), 6, -6, 0, 0.5)
r <- c(runif(20, -0.99, 0.99), runif(10, 0.92, 0.9999), -runif(10, 0.92, 0.9999), 1, -1, 0, 1)
bvn <- list(call = "pbivnorm::pbivnorm(h, k, rho)", h = h, k = k, rho = r,
            p = pbivnorm::pbivnorm(h, k, r))

out <- list(
  generated_by = "tests/reference/ordinal.R",
  versions = list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    lavaan = pkg_version("lavaan"),
    semTools = pkg_version("semTools"),
    psych = pkg_version("psych")
  ),
  cases = cases,
  bvn = bvn
)
write_ref(out, "tests/reference/ordinal.json", pretty = FALSE, null = "null")
cat("wrote tests/reference/ordinal.json\n")
