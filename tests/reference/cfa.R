# Reference values for coscale's single-group CFA (ML), computed with lavaan.
#
# Run from the repository root:
#   Rscript tests/reference/holzinger_data.R   # only if tests/data/holzinger1939.csv is missing
#   Rscript tests/reference/cfa.R
# Writes tests/reference/cfa.json.
#
# Every case records the exact lavaan call ("call"), the model syntax ("model")
# and how the data were prepared ("data"), so a test can be read without R.
# Conventions of the JSON:
#   * NA / NaN / Inf are written as null.
#   * Data frames are lists of row objects (column name -> value).
#   * Matrices are {"names": [...], "values": [[row], ...]} (row-major).
#   * fit_measures keeps lavaan's names ("rmsea.ci.lower", "srmr_bentler", ...).
#   * sampstat covariances are ML (divided by N), as lavaan reports them.

source("tests/reference/common.R")
suppressPackageStartupMessages({
  library(semTools)
  library(psych)
})

# ---------------------------------------------------------------- helpers ----
res_summary <- function(fit) {
  r <- lavResiduals(fit)
  s <- as.data.frame(r$summary)
  out <- list(call = "lavResiduals(fit)", type = r$type, summary = list())
  for (col in names(s)) out$summary[[col]] <- as.list(setNames(s[[col]], rownames(s)))
  out$cov <- mat(r$cov)
  if (!is.null(r$mean)) out$mean <- vec(r$mean)
  out
}

single_case <- function(fit, call, model, data_desc, modind = TRUE) {
  ss <- lavInspect(fit, "sampstat")
  imp <- lavInspect(fit, "implied")
  out <- list(
    call = call,
    model = model,
    data = data_desc,
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    ntotal = lavInspect(fit, "ntotal"),
    npar = unname(fitMeasures(fit, "npar")),
    logl = unname(fitMeasures(fit, "logl")),
    fit_measures = fm_list(fit),
    estimates = pe_rows(fit),
    sampstat = list(cov = mat(ss$cov)),
    implied = list(cov = mat(imp$cov)),
    residuals = res_summary(fit)
  )
  if (!is.null(ss$mean)) out$sampstat$mean <- vec(ss$mean)
  if (!is.null(imp$mean)) out$implied$mean <- vec(imp$mean)
  if (modind) out$modindices_top10 <- mi_top(fit)
  out
}

# ------------------------------------------------------------------- data ----
HS <- read_hs()
EX <- read_example()
ex_prep <- ex_prep_desc()

# ------------------------------------------------------------------ cases ----
cases <- list()

fit <- fit_w(cfa(HS.model, data = HS, estimator = "ML"))
cases$hs3 <- single_case(fit, "cfa(HS.model, data = HS, estimator = 'ML')",
                         HS.model, hs_desc)

fit <- fit_w(cfa(HS.model, data = HS, std.lv = TRUE))
cases$hs3_stdlv <- single_case(fit, "cfa(HS.model, data = HS, std.lv = TRUE)",
                               HS.model, hs_desc)

HS.extra <- paste(HS.model, "x7 ~~ x8", "visual =~ x9", sep = "\n")
fit <- fit_w(cfa(HS.extra, data = HS))
cases$hs3_extra <- single_case(fit, "cfa(HS.extra, data = HS)", HS.extra, hs_desc)

# Better-conditioned single modifications (hs3_extra above is a Heywood case:
# negative residual variance of x8, huge SEs for the speed block).
HS.crossload <- paste(HS.model, "visual =~ x9", sep = "\n")
fit <- fit_w(cfa(HS.crossload, data = HS))
cases$hs3_crossload <- single_case(fit, "cfa(HS.crossload, data = HS)", HS.crossload, hs_desc)

HS.rescov <- paste(HS.model, "x7 ~~ x8", sep = "\n")
fit <- fit_w(cfa(HS.rescov, data = HS))
cases$hs3_rescov <- single_case(fit, "cfa(HS.rescov, data = HS)", HS.rescov, hs_desc)

fit <- fit_w(cfa(HS.model, data = HS, meanstructure = TRUE))
cases$hs3_meanstructure <- single_case(
  fit, "cfa(HS.model, data = HS, meanstructure = TRUE)", HS.model, hs_desc)

# How lavaan defines srmr with a mean structure (single group): recompute it.
local({
  ss <- lavInspect(fit, "sampstat"); imp <- lavInspect(fit, "implied")
  S <- unclass(ss$cov); Sig <- unclass(imp$cov)
  sd <- sqrt(diag(S))
  Rc <- (S - Sig) / outer(sd, sd)              # Bentler: both scaled by observed SDs
  rm <- (ss$mean - imp$mean) / sd
  cov_part <- Rc[lower.tri(Rc, diag = TRUE)]
  p <- nrow(S)
  cases$hs3_meanstructure$srmr_check <<- list(
    note = paste(
      "srmr_bentler_nomean = sqrt(mean(vech(R)^2)), R = (S - Sigma)/outer(sd, sd), sd = sqrt(diag(S));",
      "srmr_bentler (= lavaan 'srmr' when meanstructure) = sqrt((sum(vech(R)^2) + sum(((m - mu)/sd)^2)) / (p*(p+1)/2 + p))"),
    srmr_bentler_nomean_manual = sqrt(mean(cov_part^2)),
    srmr_bentler_manual = sqrt((sum(cov_part^2) + sum(rm^2)) / (p * (p + 1) / 2 + p))
  )
})

fit <- fit_w(cfa(EX.model, data = EX, missing = "listwise"))
cases$example <- single_case(
  fit, "cfa(EX.model, data = EX, missing = 'listwise')", EX.model, ex_prep)
cases$example$compRelSEM <- vec(compRelSEM(fit))
cases$example$AVE <- vec(AVE(fit))

for (sc in names(ex_scales)) {
  items <- ex_scales[[sc]]
  dd <- EX[complete.cases(EX[items]), items]
  m1 <- scale_syntax(ex_scales[sc])
  fit <- fit_w(cfa(m1, data = dd))
  a <- psych::alpha(dd, warnings = FALSE)
  case <- single_case(
    fit, "cfa(model, data = dd)", m1,
    paste(ex_prep, "; dd = rows complete on this scale's 5 items (listwise within the scale)"),
    modind = FALSE)
  case$items <- items
  case$compRelSEM <- unname(compRelSEM(fit)[[sc]])
  case$compRelSEM_call <- "semTools::compRelSEM(fit)  # obs.var = TRUE, tau.eq = FALSE"
  case$compRelSEM_implied <- unname(compRelSEM(fit, obs.var = FALSE)[[sc]])
  case$compRelSEM_implied_call <- "semTools::compRelSEM(fit, obs.var = FALSE)"
  case$AVE <- unname(AVE(fit)[[sc]])
  case$AVE_call <- "semTools::AVE(fit)  # obs.var = TRUE"
  case$alpha_call <- "psych::alpha(dd)"
  case$raw_alpha <- a$total$raw_alpha
  case$std_alpha <- a$total$std.alpha
  cases[[paste0("example_onefactor_", sc)]] <- case
}

out <- list(
  meta = ref_meta(
    "tests/reference/cfa.R",
    semTools = pkg_version("semTools"),
    psych = pkg_version("psych"),
    conventions = paste(
      "NA/NaN/Inf -> null; data frames -> lists of row objects;",
      "matrices -> {names, values (row-major)}; sampstat cov is ML (/N)")
  ),
  cases = cases
)
write_ref(out, "tests/reference/cfa.json")

# ----------------------------------------------------------- key numbers ----
k <- function(nm) {
  f <- cases[[nm]]$fit_measures
  cat(sprintf("%-44s chisq %9.3f df %3d cfi %.4f tli %.4f rmsea %.4f srmr %.4f (bentler %.4f, nomean %.4f) logl %.3f npar %d N %d\n",
              nm, f$chisq, as.integer(f$df), f$cfi, f$tli, f$rmsea, f$srmr, f$srmr_bentler,
              f$srmr_bentler_nomean, f$logl, as.integer(f$npar), as.integer(cases[[nm]]$ntotal)))
}
for (nm in names(cases)) k(nm)
with(cases$hs3_meanstructure$srmr_check,
     cat(sprintf("srmr check (meanstructure): manual bentler %.6f, manual nomean %.6f\n",
                 srmr_bentler_manual, srmr_bentler_nomean_manual)))
for (sc in names(ex_scales)) {
  cc <- cases[[paste0("example_onefactor_", sc)]]
  cat(sprintf("%-22s N %d omega %.4f (implied %.4f) AVE %.4f alpha %.4f\n", sc,
              as.integer(cc$ntotal), cc$compRelSEM, cc$compRelSEM_implied, cc$AVE, cc$raw_alpha))
}
cat("wrote tests/reference/cfa.json\n")
