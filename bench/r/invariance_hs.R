# Measurement invariance of the HS three-factor model across school with lavaan:
# configural, metric, scalar, strict (group.equal), lavTestLRT, lavTestScore on
# the metric and scalar models (what coscale's partial-invariance search uses).
# Usage: Rscript bench/r/invariance_hs.R [holzinger1939.csv]
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args)) args[[1]] else "tests/data/holzinger1939.csv"
HS <- read.csv(path, stringsAsFactors = FALSE)
model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
configural <- cfa(model, data = HS, group = "school")
metric <- cfa(model, data = HS, group = "school", group.equal = "loadings")
scalar <- cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts"))
strict <- cfa(model, data = HS, group = "school",
              group.equal = c("loadings", "intercepts", "residuals"))
lrt <- lavTestLRT(configural, metric, scalar, strict)
fm <- lapply(list(configural, metric, scalar, strict), fitMeasures)
st_metric <- lavTestScore(metric)
st_scalar <- lavTestScore(scalar)
cat(sprintf("chisq=%.6f\n", fm[[1]][["chisq"]]))
