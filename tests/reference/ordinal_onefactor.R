# Ordinal reliability per scale from one-factor WLSMV fits (what coscale validate reports as
# omega_ordinal / alpha_ordinal). Run from the repository root (after tests/reference/ordinal.R,
# which writes tests/data/holzinger1939_ordinal.csv):
#   Rscript tests/reference/ordinal_onefactor.R
source("tests/reference/common.R")
suppressPackageStartupMessages({library(semTools); library(psych)})
HS4 <- read.csv("tests/data/holzinger1939_ordinal.csv")
out <- list()
for (s in names(hs_scales)) {
  items <- hs_scales[[s]]
  model <- scale_syntax(hs_scales[s])
  fit <- cfa(model, data = HS4, ordered = TRUE, estimator = "WLSMV")
  R <- lavCor(HS4[items], ordered = TRUE)
  out[[s]] <- list(
    call = sprintf("compRelSEM(cfa('%s', data = HS4, ordered = TRUE, estimator = 'WLSMV'))", model),
    omega_ordinal = unname(compRelSEM(fit)[[s]]),
    alpha_call = "psych::alpha(lavCor(HS4[items], ordered = TRUE))$total$raw_alpha",
    alpha_ordinal = psych::alpha(R, warnings = FALSE)$total$raw_alpha
  )
}
meta <- list(generated_by = "tests/reference/ordinal_onefactor.R", lavaan = pkg_version("lavaan"),
             semTools = pkg_version("semTools"), psych = pkg_version("psych"))
write_ref(list(meta = meta, cases = out), "tests/reference/ordinal_onefactor.json")
