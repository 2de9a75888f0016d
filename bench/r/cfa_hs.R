# Three-factor CFA of Holzinger & Swineford (1939) with lavaan, plus fit measures.
# Usage: Rscript bench/r/cfa_hs.R [holzinger1939.csv]
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args)) args[[1]] else "tests/data/holzinger1939.csv"
HS <- read.csv(path, stringsAsFactors = FALSE)
model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
fit <- cfa(model, data = HS)
fm <- fitMeasures(fit)
pe <- parameterEstimates(fit, standardized = TRUE)
cat(sprintf("chisq=%.6f\n", fm[["chisq"]]))
