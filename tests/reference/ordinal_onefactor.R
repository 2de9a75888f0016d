# Ordinal reliability per scale from one-factor WLSMV fits (what coscale validate reports as
# omega_ordinal / alpha_ordinal). Run from the repository root:
#   Rscript tests/reference/ordinal_onefactor.R
suppressPackageStartupMessages({library(lavaan); library(semTools); library(psych); library(jsonlite)})
HS4 <- read.csv("tests/data/holzinger1939_ordinal.csv")
scales <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"), speed = c("x7", "x8", "x9"))
out <- list()
for (s in names(scales)) {
  items <- scales[[s]]
  model <- paste(s, "=~", paste(items, collapse = " + "))
  fit <- cfa(model, data = HS4, ordered = TRUE, estimator = "WLSMV")
  R <- lavCor(HS4[items], ordered = TRUE)
  out[[s]] <- list(
    call = sprintf("compRelSEM(cfa('%s', data = HS4, ordered = TRUE, estimator = 'WLSMV'))", model),
    omega_ordinal = unname(compRelSEM(fit)[[s]]),
    alpha_call = "psych::alpha(lavCor(HS4[items], ordered = TRUE))$total$raw_alpha",
    alpha_ordinal = psych::alpha(R, warnings = FALSE)$total$raw_alpha
  )
}
meta <- list(generated_by = "tests/reference/ordinal_onefactor.R", lavaan = as.character(packageVersion("lavaan")),
             semTools = as.character(packageVersion("semTools")), psych = as.character(packageVersion("psych")))
write_json(list(meta = meta, cases = out), "tests/reference/ordinal_onefactor.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
