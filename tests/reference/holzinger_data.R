# Export lavaan's HolzingerSwineford1939 data set (all columns) to CSV.
# Run from the repository root:  Rscript tests/reference/holzinger_data.R
source("tests/reference/common.R")   # HS_CSV; reads no data
dir.create(dirname(HS_CSV), showWarnings = FALSE, recursive = TRUE)
write.csv(HolzingerSwineford1939, HS_CSV, row.names = FALSE)
cat("lavaan", pkg_version("lavaan"), "- wrote", paste0(HS_CSV, ":"),
    nrow(HolzingerSwineford1939), "rows x", ncol(HolzingerSwineford1939), "columns\n")
