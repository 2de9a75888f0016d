# What `coscale validate <csv> --format json` computes, done with lavaan + psych + semTools.
# Usage: Rscript bench/r/validate_example.R [survey.csv]   (default: examples/coproduction_survey.csv)
# Prints one line "chisq=<4-factor chi-square>" for the benchmark's agreement check.
suppressPackageStartupMessages({
  library(lavaan)
  library(psych)
  library(semTools)
})
args <- commandArgs(trailingOnly = TRUE)
path <- if (length(args)) args[[1]] else "examples/coproduction_survey.csv"

d <- read.csv(path, stringsAsFactors = FALSE)
scales <- list(
  motives_self = paste0("msc", 1:5),
  motives_community = paste0("mcc", 1:5),
  professional_openness = paste0("ppo", 1:5),
  citizen_competence = paste0("pcc", 1:5)
)
items <- unlist(scales, use.names = FALSE)
for (v in items) d[[v]][d[[v]] %in% c(9, -99)] <- NA
d$ppo4 <- 6 - d$ppo4
d$pcc3 <- 6 - d$pcc3

syntax <- paste(sprintf("%s =~ %s", names(scales),
                        vapply(scales, paste, "", collapse = " + ")), collapse = "\n")

# per scale: item statistics + alpha (pairwise, as psych), one-factor CFA + omega (compRelSEM)
per_scale <- lapply(names(scales), function(sc) {
  dd <- d[scales[[sc]]]
  a <- psych::alpha(dd, warnings = FALSE)
  f1 <- cfa(sprintf("%s =~ %s", sc, paste(scales[[sc]], collapse = " + ")), data = dd)
  list(alpha = a$total$raw_alpha, omega = compRelSEM(f1)[[sc]],
       fit1 = fitMeasures(f1, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr")))
})

# the whole instrument (listwise, lavaan's default), fit, standardized solution, MI
fit <- cfa(syntax, data = d)
fm <- fitMeasures(fit)
std <- standardizedSolution(fit)
mi <- modindices(fit, sort. = TRUE, maximum.number = 5)
cr <- compRelSEM(fit)
ave <- AVE(fit)
h <- htmt(syntax, data = d)
cat(sprintf("chisq=%.6f\n", fm[["chisq"]]))
