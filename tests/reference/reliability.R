# Reference values for coscale/stats/reliability.py (tests/test_reliability.py).
#
# Run from the repository root, after the data files exist:
#   Rscript tests/reference/holzinger_data.R              # tests/data/holzinger1939.csv
#   .venv/bin/python tests/reference/make_likert_missing.py  # tests/data/likert_missing.csv
#   Rscript tests/reference/reliability.R                 # writes tests/reference/reliability.json
#
# Made with R 4.x, psych 2.2.9, lavaan 0.6.14, semTools 0.5.6 (versions are
# written into the JSON). Both data sets are read back from the CSV files so
# that R and Python see exactly the same numbers.
#
# Matrices are stored as {"names": [...], "values": [[row 1], [row 2], ...]}.

source("tests/reference/common.R")
suppressPackageStartupMessages({
  library(psych)
  library(semTools)
})

# psych's bootstrap runs through parallel::mclapply; forked workers make
# set.seed() ineffective, so run it serially to make the JSON reproducible.
options(mc.cores = 1L)

hs <- read_hs()
lik <- read.csv("tests/data/likert_missing.csv")

num <- function(x) as.numeric(unlist(x))
# ", name = value, ..." for a call label (strings deparsed with quotes).
arg_text <- function(args) {
  if (!length(args)) return("")
  paste0(", ", paste(names(args), vapply(args, deparse, ""), sep = " = ", collapse = ", "))
}

# ---------------------------------------------------------------------------
# psych::alpha (defaults: use = "pairwise") and psych::describe (type = 3)
# ---------------------------------------------------------------------------
alpha_ref <- function(data, label) {
  a <- psych::alpha(data, warnings = FALSE)
  d <- psych::describe(data)
  ci <- psych::alpha.ci(a$total$raw_alpha, nrow(data), ncol(data))
  list(
    label = label,
    items = colnames(data),
    call = sprintf("psych::alpha(%s)", label),
    n_rows = nrow(data),
    raw_alpha = a$total$raw_alpha,
    std_alpha = a$total$std.alpha,
    alpha_drop_raw = num(a$alpha.drop$raw_alpha),
    alpha_drop_std = num(a$alpha.drop$std.alpha),
    r_drop = num(a$item.stats$r.drop),
    item_n = num(a$item.stats$n),
    item_mean = num(a$item.stats$mean),
    item_sd = num(a$item.stats$sd),
    feldt_lower = num(a$feldt$lower.ci),
    feldt_upper = num(a$feldt$upper.ci),
    alpha_ci_lower = num(ci$lower.ci),
    alpha_ci_upper = num(ci$upper.ci),
    describe_n = num(d$n),
    describe_mean = num(d$mean),
    describe_sd = num(d$sd),
    describe_skew = num(d$skew),
    describe_kurtosis = num(d$kurtosis)
  )
}

alpha_sets <- list(
  hs_x1_x3 = alpha_ref(hs[, c("x1", "x2", "x3")], "hs[, c('x1','x2','x3')]"),
  hs_x4_x6 = alpha_ref(hs[, c("x4", "x5", "x6")], "hs[, c('x4','x5','x6')]"),
  hs_x7_x9 = alpha_ref(hs[, c("x7", "x8", "x9")], "hs[, c('x7','x8','x9')]"),
  hs_x1_x9 = alpha_ref(hs[, paste0("x", 1:9)], "hs[, paste0('x', 1:9)]"),
  hs_x1_x2 = alpha_ref(hs[, c("x1", "x2")], "hs[, c('x1','x2')]"),
  likert = alpha_ref(lik, "lik")
)

# psych::alpha.ci on its own, with a non-default p.val.
alpha_ci_direct <- list(
  list(alpha = 0.8, n_obs = 100, n_var = 5, p_val = 0.05,
       lower = num(psych::alpha.ci(0.8, 100, 5)$lower.ci),
       upper = num(psych::alpha.ci(0.8, 100, 5)$upper.ci)),
  list(alpha = 0.65, n_obs = 40, n_var = 12, p_val = 0.10,
       lower = num(psych::alpha.ci(0.65, 40, 12, p.val = 0.10)$lower.ci),
       upper = num(psych::alpha.ci(0.65, 40, 12, p.val = 0.10)$upper.ci))
)

# psych's own bootstrap (different RNG from numpy: only a loose sanity check).
set.seed(1939)
boot_hs <- psych::alpha(hs[, paste0("x", 1:9)], n.iter = 2000, warnings = FALSE)$boot.ci
set.seed(1939)
boot_lik <- psych::alpha(lik, n.iter = 2000, warnings = FALSE)$boot.ci
bootstrap <- list(
  hs_x1_x9 = list(call = "set.seed(1939); psych::alpha(hs[, paste0('x', 1:9)], n.iter = 2000)$boot.ci",
                  lower = num(boot_hs[1]), median = num(boot_hs[2]), upper = num(boot_hs[3])),
  likert = list(call = "set.seed(1939); psych::alpha(lik, n.iter = 2000)$boot.ci",
                lower = num(boot_lik[1]), median = num(boot_lik[2]), upper = num(boot_lik[3]))
)

# ---------------------------------------------------------------------------
# One-factor CFAs: semTools::compRelSEM (omega) and semTools::AVE
# ---------------------------------------------------------------------------
cfa_ref <- function(model, data, label, ...) {
  fit <- lavaan::cfa(model, data = data, ...)
  est <- lavInspect(fit, "est")
  lambda <- est$lambda
  theta <- est$theta
  psi <- lavInspect(fit, "cov.lv")
  S <- lavInspect(fit, "sampstat")$cov
  Sigma <- lavInspect(fit, "fitted")$cov
  ss <- standardizedSolution(fit)
  std_load <- ss$est.std[ss$op == "=~"]
  fac <- colnames(lambda)[1]
  items <- rownames(lambda)

  # Composite reliability (Fornell & Larcker / Raykov) from std.all loadings,
  # computed by hand, and the same thing via compRelSEM: a fit to z-scored
  # items with the model-implied denominator (obs.var = FALSE).
  cr_by_hand <- sum(std_load)^2 / (sum(std_load)^2 + sum(1 - std_load^2))
  zdata <- as.data.frame(scale(na.omit(data[, items])))
  fit_z <- lavaan::cfa(model, data = zdata, ...)
  list(
    label = label,
    model = model,
    call = sprintf("lavaan::cfa(model, data = %s%s)", label, arg_text(list(...))),
    items = items,
    nobs = lavInspect(fit, "nobs"),
    lambda = num(lambda[, 1]),
    psi = num(psi[1, 1]),
    theta = mat(theta),
    sample_cov = mat(S[items, items]),
    fitted_cov = mat(Sigma[items, items]),
    std_loadings = std_load,
    omega = num(compRelSEM(fit)),
    omega_model = num(compRelSEM(fit, obs.var = FALSE)),
    ave = num(AVE(fit)),
    ave_model = num(AVE(fit, obs.var = FALSE)),
    cr_by_hand = cr_by_hand,
    cr_compRelSEM_z = num(compRelSEM(fit_z, obs.var = FALSE)),
    ave_by_hand_mean_std_sq = mean(std_load^2)
  )
}

cfa_sets <- list(
  visual = cfa_ref("visual =~ x1 + x2 + x3", hs, "hs"),
  textual = cfa_ref("textual =~ x4 + x5 + x6", hs, "hs"),
  speed = cfa_ref("speed =~ x7 + x8 + x9", hs, "hs"),
  # Over-identified, with one correlated residual: tests the theta off-diagonal.
  visual_textual_cr = cfa_ref("f =~ x1 + x2 + x3 + x4 + x5 + x6\n x4 ~~ x5", hs, "hs"),
  likert = cfa_ref("f =~ q1 + q2 + q3 + q4 + q5", lik, "lik", missing = "listwise")
)

# ---------------------------------------------------------------------------
# HTMT (semTools::htmt) and the Fornell-Larcker inputs of the 3-factor model
# ---------------------------------------------------------------------------
hs_model <- HS.model
lik_model <- "a =~ q1 + q2 + q3
b =~ q4 + q5"

htmt_ref <- function(model, data, label, ...) {
  h <- semTools::htmt(model, data = data, ...)
  args <- list(...)
  list(model = model,
       call = sprintf("semTools::htmt(model, data = %s%s)", label, arg_text(args)),
       args = args, htmt = mat(h))
}

hs_x <- hs[, paste0("x", 1:9)]
htmt_sets <- list(
  hs_default = htmt_ref(hs_model, hs_x, "hs"),
  hs_arithmetic = htmt_ref(hs_model, hs_x, "hs", htmt2 = FALSE),
  hs_arithmetic_signed = htmt_ref(hs_model, hs_x, "hs", htmt2 = FALSE, absolute = FALSE),
  likert_default = htmt_ref(lik_model, lik, "lik"),
  likert_arithmetic = htmt_ref(lik_model, lik, "lik", htmt2 = FALSE),
  likert_pairwise = htmt_ref(lik_model, lik, "lik", missing = "pairwise")
)
# The same HTMT from a correlation matrix (sample.cov=) instead of raw data.
htmt_from_cor <- semTools::htmt(hs_model, sample.cov = cor(hs_x))

fit3 <- lavaan::cfa(hs_model, data = hs)
ss3 <- standardizedSolution(fit3)
ss3 <- ss3[ss3$op == "=~", ]
three_factor <- list(
  model = hs_model,
  call = "lavaan::cfa(hs_model, data = hs)",
  factors = colnames(lavInspect(fit3, "cor.lv")),
  cor_lv = mat(lavInspect(fit3, "cor.lv")),
  ave = as.list(setNames(num(AVE(fit3)), names(AVE(fit3)))),
  std_loadings = lapply(split(ss3$est.std, ss3$lhs), identity),
  htmt_from_cor = mat(htmt_from_cor)
)

ref <- list(
  versions = list(
    R = R.version.string,
    psych = pkg_version("psych"),
    lavaan = pkg_version("lavaan"),
    semTools = pkg_version("semTools")
  ),
  alpha = alpha_sets,
  alpha_ci = alpha_ci_direct,
  bootstrap = bootstrap,
  cfa = cfa_sets,
  htmt = htmt_sets,
  three_factor = three_factor
)

write_ref(ref, "tests/reference/reliability.json")
cat("wrote tests/reference/reliability.json\n")
