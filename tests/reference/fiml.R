# Reference values for coscale's full-information ML (lavaan missing = "ml").
#
# Run from the repository root:
#   Rscript tests/reference/fiml.R
# Writes tests/data/holzinger1939_missing.csv (the amputed Holzinger-Swineford
# data, see "amputation rule" below) and tests/reference/fiml.json.
#
# Every case records the exact lavaan call ("call"), the model syntax and how the
# data were prepared. Conventions (as cfa.json / invariance.json):
#   * NA / NaN / Inf are written as null.
#   * Data frames are lists of row objects (column name -> value).
#   * Matrices are {"names": [...], "values": [[row], ...]} (row-major).
#   * fit_measures keeps lavaan's names; "group" in estimates is 1-based and
#     refers to group_labels (lavaan's order: first appearance in the data).
#   * h1 = lavInspect(fit, "sampstat.h1"): the saturated (EM) means and ML
#     covariances per group. lavaan's EM stops when no mean/covariance moves
#     by more than em.h1.tol = 1e-5 between iterations, so those are the EM
#     *iterates*; "h1_tight" are the same estimates from lavaan's own EM
#     routine run to 1e-13 (the actual maximum of the saturated likelihood).
#   * checks: recomputations in R of how lavaan defines baseline.chisq and srmr
#     under missing = "ml" (see "checks" in each case).

source("tests/reference/common.R")

# ---------------------------------------------------------------- helpers ----
# per-group list (single group: a list of one)
per_group <- function(x, ngroups) if (ngroups == 1L) list(x) else unname(x)

moments_json <- function(m) list(cov = mat(m$cov), mean = vec(m$mean))

# FIML independence model, written out: every item's mean and (ML) variance
# from its available answers; its log-likelihood is the sum over items of the
# univariate normal log-likelihoods. baseline.chisq = 2 (logl_h1 - logl_base).
baseline_manual <- function(fit, data, ov, group = NULL) {
  groups <- if (is.null(group)) list(data) else split(data, factor(data[[group]], levels = lavInspect(fit, "group.label")))
  ll <- 0
  for (d in groups) {
    Y <- as.matrix(d[, ov])
    Y <- Y[rowSums(!is.na(Y)) > 0, , drop = FALSE]       # rows missing every item are dropped
    for (j in seq_len(ncol(Y))) {
      y <- Y[!is.na(Y[, j]), j]
      m <- mean(y); v <- mean((y - m)^2)
      ll <- ll + sum(dnorm(y, m, sqrt(v), log = TRUE))
    }
  }
  fm <- fitMeasures(fit, c("unrestricted.logl", "baseline.chisq"))
  list(note = paste("independence model under FIML: item means and ML variances from available answers;",
                    "baseline_chisq_manual = 2 * (unrestricted.logl - logl_baseline_manual)"),
       logl_baseline_manual = ll,
       baseline_chisq_manual = unname(2 * (fm["unrestricted.logl"] - ll)),
       baseline_chisq_lavaan = unname(fm["baseline.chisq"]))
}

# srmr (= srmr_bentler with a mean structure) recomputed from the EM moments
srmr_manual <- function(fit) {
  ng <- lavInspect(fit, "ngroups")
  h1 <- per_group(lavInspect(fit, "sampstat.h1"), ng)
  imp <- per_group(lavInspect(fit, "implied"), ng)
  nobs <- unlist(lavInspect(fit, "nobs"))
  s <- 0
  for (g in seq_len(ng)) {
    S <- unclass(h1[[g]]$cov); M <- unclass(h1[[g]]$mean)
    Sig <- unclass(imp[[g]]$cov); Mu <- unclass(imp[[g]]$mean)
    sd <- sqrt(diag(S))
    R <- (S - Sig) / outer(sd, sd)
    r <- c(R[lower.tri(R, diag = TRUE)], (M - Mu) / sd)
    s <- s + nobs[g] / sum(nobs) * sqrt(mean(r^2))
  }
  list(note = paste("srmr from the EM (h1) moments: sqrt(mean(c(vech((S - Sigma)/outer(sd, sd)), (m - mu)/sd)^2)),",
                    "sd = sqrt(diag(S)), groups weighted by N_g / N"),
       srmr_manual = unname(s), srmr_lavaan = unname(fitMeasures(fit, "srmr")))
}

# SEs from lavaan's observed information (numerical Hessian of the analytic
# gradient) written out: vcov = solve(information.observed) / N.
se_manual <- function(fit) {
  I <- lavInspect(fit, "information.observed")
  V <- vcov(fit)
  if (nrow(I) != nrow(V)) return(list(note = "information and vcov differ in size", max_abs_diff = NA))
  v <- diag(solve(I))
  if (any(v < 0)) return(list(note = paste("information.observed is not of the free parameters alone",
                                           "(equality constraints): not compared"), max_abs_diff = NA))
  se <- sqrt(v / lavInspect(fit, "ntotal"))
  list(note = "max |sqrt(diag(solve(lavInspect(fit, 'information.observed'))) / ntotal) - sqrt(diag(vcov(fit)))|",
       max_abs_diff = max(abs(se - sqrt(diag(V)))))
}

h1_tight <- function(fit, data, ov, group = NULL) {
  groups <- if (is.null(group)) list(data) else split(data, factor(data[[group]], levels = lavInspect(fit, "group.label")))
  lapply(groups, function(d) {
    Y <- as.matrix(d[, ov])
    Y <- Y[rowSums(!is.na(Y)) > 0, , drop = FALSE]
    out <- lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y = Y, max.iter = 100000L, tol = 1e-13)
    list(cov = list(names = ov, values = unname(out$Sigma)),
         mean = as.list(setNames(as.numeric(out$Mu), ov)))
  })
}

fiml_case <- function(fit, call, model, data_desc, data, group = NULL) {
  ng <- lavInspect(fit, "ngroups")
  ov <- lavNames(fit, "ov")
  opts <- lavInspect(fit, "options")
  pats <- per_group(lavInspect(fit, "patterns"), ng)
  empty <- per_group(lavInspect(fit, "empty.idx"), ng)
  list(
    call = call,
    model = model,
    data = data_desc,
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    group_labels = I(if (ng > 1) lavInspect(fit, "group.label") else character(0)),
    ntotal = lavInspect(fit, "ntotal"),
    nobs = I(as.integer(unlist(lavInspect(fit, "nobs")))),
    norig = I(as.integer(unlist(lavInspect(fit, "norig")))),
    n_empty_rows = I(as.integer(vapply(empty, length, 1L))),
    n_patterns = I(as.integer(vapply(pats, nrow, 1L))),
    options = list(
      call = "lavInspect(fit, 'options')[c('missing', 'meanstructure', 'information', 'observed.information', 'h1.information', 'se', 'em.h1.tol')]",
      missing = opts$missing[1],
      meanstructure = opts$meanstructure,
      information = opts$information[1],
      observed.information = opts$observed.information[1],
      h1.information = opts$h1.information[1],
      se = opts$se,
      em.h1.tol = opts$em.h1.tol
    ),
    npar = unname(fitMeasures(fit, "npar")),
    logl = unname(fitMeasures(fit, "logl")),
    unrestricted_logl = unname(fitMeasures(fit, "unrestricted.logl")),
    fmin = unname(fitMeasures(fit, "fmin")),
    fit_measures = fm_list(fit),
    estimates = pe_rows(fit),
    h1 = lapply(per_group(lavInspect(fit, "sampstat.h1"), ng), moments_json),
    h1_tight = unname(h1_tight(fit, data, ov, group)),
    implied = lapply(per_group(lavInspect(fit, "implied"), ng), moments_json),
    checks = list(baseline = baseline_manual(fit, data, ov, group),
                  srmr = srmr_manual(fit),
                  se = se_manual(fit))
  )
}

# ------------------------------------------------------------------- data ----
LK <- read.csv("tests/data/likert_missing.csv")
LK.model <- "trait =~ q1 + q2 + q3 + q4 + q5"
lk_desc <- "tests/data/likert_missing.csv (300 rows, 5 Likert items, ~5% MCAR; tests/reference/make_likert_missing.py)"

HS <- read_hs()

# Amputation rule (deterministic, reproduced in tests/test_fiml.py):
#   item xj (j = 1..9) is missing when ((id * 7919 + j * 104729) * (id + 31 * j)) %% 1009 < 65;
#   x6 is also missing when x4 < 2 and id %% 3 == 0 (missing at random given x4);
#   every item is missing when id %% 97 == 0 (ids 97 and 291: rows lavaan drops).
amputation_rule <- paste(
  "xj (j = 1..9) NA when ((id * 7919 + j * 104729) * (id + 31 * j)) %% 1009 < 65;",
  "x6 also NA when x4 < 2 and id %% 3 == 0; all of x1..x9 NA when id %% 97 == 0")
HSM <- HS
for (j in 1:9) {
  v <- paste0("x", j)
  HSM[[v]][((HS$id * 7919 + j * 104729) * (HS$id + 31 * j)) %% 1009 < 65] <- NA
}
HSM$x6[HS$x4 < 2 & HS$id %% 3 == 0] <- NA
for (j in 1:9) HSM[[paste0("x", j)]][HS$id %% 97 == 0] <- NA
write.csv(HSM, "tests/data/holzinger1939_missing.csv", row.names = FALSE)
hsm_desc <- paste("tests/data/holzinger1939_missing.csv: tests/data/holzinger1939.csv with", amputation_rule)

EX <- read_example()
ex_prep <- ex_prep_desc()

# ------------------------------------------------------------------ cases ----
cases <- list()

fit <- fit_w(cfa(LK.model, data = LK, missing = "ml"))
cases$likert <- fiml_case(fit, "cfa(LK.model, data = LK, missing = 'ml')", LK.model, lk_desc, LK)

fit <- fit_w(cfa(HS.model, data = HSM, missing = "ml"))
cases$hs_missing <- fiml_case(fit, "cfa(HS.model, data = HSM, missing = 'ml')", HS.model, hsm_desc, HSM)

fit <- fit_w(cfa(EX.model, data = EX, missing = "ml"))
cases$example <- fiml_case(fit, "cfa(EX.model, data = EX, missing = 'ml')", EX.model, ex_prep, EX)

fit <- fit_w(cfa(HS.model, data = HSM, group = "school", missing = "ml"))
cases$hs_missing_configural <- fiml_case(
  fit, "cfa(HS.model, data = HSM, group = 'school', missing = 'ml')", HS.model, hsm_desc, HSM, "school")

fit <- fit_w(cfa(HS.model, data = HSM, group = "school", group.equal = c("loadings", "intercepts"),
                 missing = "ml"))
cases$hs_missing_scalar <- fiml_case(
  fit, "cfa(HS.model, data = HSM, group = 'school', group.equal = c('loadings', 'intercepts'), missing = 'ml')",
  HS.model, hsm_desc, HSM, "school")

out <- list(
  meta = ref_meta(
    "tests/reference/fiml.R",
    amputation_rule = amputation_rule,
    conventions = paste(
      "NA/NaN/Inf -> null; data frames -> lists of row objects;",
      "matrices -> {names, values (row-major)}; h1 = sampstat.h1 (EM, ML covariances),",
      "one entry per group")
  ),
  cases = cases
)
write_ref(out, "tests/reference/fiml.json")

# ----------------------------------------------------------- key numbers ----
for (nm in names(cases)) {
  cc <- cases[[nm]]; f <- cc$fit_measures
  cat(sprintf("%-24s N %d (empty %s) patterns %s chisq %9.4f df %3d cfi %.4f tli %.4f rmsea %.4f srmr %.4f logl %.4f base %.4f (manual %.4f) srmr manual %.6f vs %.6f; se check %.2g; info %s\n",
              nm, as.integer(cc$ntotal), paste(cc$n_empty_rows, collapse = "/"),
              paste(cc$n_patterns, collapse = "/"), f$chisq, as.integer(f$df), f$cfi, f$tli,
              f$rmsea, f$srmr, f$logl, f$baseline.chisq, cc$checks$baseline$baseline_chisq_manual,
              cc$checks$srmr$srmr_manual, cc$checks$srmr$srmr_lavaan, cc$checks$se$max_abs_diff,
              cc$options$information))
}
cat("wrote tests/data/holzinger1939_missing.csv and tests/reference/fiml.json\n")
