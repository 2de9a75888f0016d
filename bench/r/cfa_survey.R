# Read a coproduction survey CSV, recode (codes 9/-99 -> NA, ppo4/pcc3 -> 6 - x)
# and fit the 4-factor CFA (listwise) with lavaan, plus fit measures.
# Used by the validate-large benchmark. Usage: Rscript bench/r/cfa_survey.R survey.csv
suppressPackageStartupMessages(library(lavaan))
path <- commandArgs(trailingOnly = TRUE)[[1]]
d <- read.csv(path, stringsAsFactors = FALSE)
items <- grep("^(msc|mcc|ppo|pcc)[0-9]+$", names(d), value = TRUE)
for (v in items) d[[v]][d[[v]] %in% c(9, -99)] <- NA
d$ppo4 <- 6 - d$ppo4
d$pcc3 <- 6 - d$pcc3
syntax <- "motives_self =~ msc1 + msc2 + msc3 + msc4 + msc5
motives_community =~ mcc1 + mcc2 + mcc3 + mcc4 + mcc5
professional_openness =~ ppo1 + ppo2 + ppo3 + ppo4 + ppo5
citizen_competence =~ pcc1 + pcc2 + pcc3 + pcc4 + pcc5"
fit <- cfa(syntax, data = d)
fm <- fitMeasures(fit)
cat(sprintf("chisq=%.6f\n", fm[["chisq"]]))
