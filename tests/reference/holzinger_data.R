# Export lavaan's HolzingerSwineford1939 data set (all columns) to CSV.
# Run from the repository root:  Rscript tests/reference/holzinger_data.R
suppressPackageStartupMessages(library(lavaan))
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
write.csv(HolzingerSwineford1939, "tests/data/holzinger1939.csv", row.names = FALSE)
cat("lavaan", as.character(packageVersion("lavaan")), "- wrote tests/data/holzinger1939.csv:",
    nrow(HolzingerSwineford1939), "rows x", ncol(HolzingerSwineford1939), "columns\n")
