# Helpers shared by the reference scripts in tests/reference/*.R.
#
# Every script runs from the repository root and starts with
#   source("tests/reference/common.R")
# This file only defines things (and loads lavaan + jsonlite); it reads no data
# until a script calls read_hs() / read_example().

suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

stopifnot(packageVersion("lavaan") == "0.6.14")

pkg_version <- function(pkg) as.character(packageVersion(pkg))

# --------------------------------------------------------- lavaan -> JSON ----
# Conventions: NA / NaN / Inf -> null; data frames -> lists of row objects;
# matrices -> {"names": [...], "values": [[row], ...]} (row-major).

fm_list <- function(fit, ...) as.list(unclass(fitMeasures(fit, ...)))

df_rows <- function(x) {
  x <- as.data.frame(x, stringsAsFactors = FALSE)
  class(x) <- "data.frame"
  rownames(x) <- NULL
  x
}

pe_rows <- function(fit) df_rows(parameterEstimates(fit, standardized = TRUE))

mat <- function(M, names = rownames(M)) {
  M <- unclass(M)
  list(names = names, values = unname(as.matrix(M)))
}

vec <- function(v) {
  v <- unclass(v)
  as.list(setNames(as.numeric(v), names(v)))
}

# top k modification indices (modindices' default information = "expected")
mi_top <- function(fit, k = 10, information = "expected") {
  mi <- df_rows(modindices(fit, sort. = TRUE, information = information))
  cols <- intersect(c("lhs", "op", "rhs", "block", "group", "mi", "epc",
                      "sepc.lv", "sepc.all", "sepc.nox"), names(mi))
  mi[seq_len(min(k, nrow(mi))), cols]
}

# per element of a list of lavaan tests (fit@test, fit@baseline$test): the
# statistic and what the scaled / robust indices are built from
test_list <- function(tests) {
  lapply(tests, function(t) list(
    test = t$test, stat = t$stat, df = t$df,
    scaling.factor = if (is.null(t$scaling.factor)) NA else t$scaling.factor,
    trace.UGamma = if (is.null(t$trace.UGamma)) NA else sum(t$trace.UGamma)))
}

# lavTestScore: parameter labels (.pX.) of the fit, and $uni rows annotated
# with the parameter of their lhs label and the group of their rhs label
plabel_rows <- function(fit) {
  pt <- parTable(fit)
  df_rows(pt[pt$plabel != "", c("plabel", "lhs", "op", "rhs", "group", "label", "free")])
}

annotate_uni <- function(uni, pl) {
  uni <- df_rows(uni)
  m <- match(uni$lhs, pl$plabel)
  uni$param_lhs <- pl$lhs[m]
  uni$param_op <- pl$op[m]
  uni$param_rhs <- pl$rhs[m]
  uni$param_group <- pl$group[m]
  m2 <- match(uni$rhs, pl$plabel)
  uni$rhs_param_group <- pl$group[m2]
  uni
}

# Fit and keep lavaan's warnings (e.g. Heywood cases, whitespace squeezed to
# single spaces) so the JSON records them; warnings_of() gives them for the JSON.
fit_w <- function(expr) {
  w <- character(0)
  fit <- withCallingHandlers(expr, warning = function(cond) {
    w <<- c(w, conditionMessage(cond)); invokeRestart("muffleWarning")
  })
  attr(fit, "lav_warnings") <- gsub("\\s+", " ", w)
  fit
}

warnings_of <- function(fit) {
  warn <- attr(fit, "lav_warnings")
  I(if (is.null(warn)) character(0) else warn)
}

# "meta" block of a reference JSON: script, R and lavaan versions, then `...`
ref_meta <- function(script, ...) {
  c(list(generated_by = script,
         R = R.version.string,
         lavaan = pkg_version("lavaan")),
    list(...))
}

write_ref <- function(x, path, pretty = TRUE, ...) {
  write_json(x, path, digits = NA, auto_unbox = TRUE, pretty = pretty, na = "null", ...)
}

# ------------------------------------------------------------------- data ----
# one-factor-per-scale CFA syntax: "f =~ a + b + c" lines joined by newlines
scale_syntax <- function(scales) {
  paste(vapply(names(scales), function(f)
    paste0(f, " =~ ", paste(scales[[f]], collapse = " + ")), ""), collapse = "\n")
}

HS_CSV <- "tests/data/holzinger1939.csv"   # written by tests/reference/holzinger_data.R
read_hs <- function() read.csv(HS_CSV, stringsAsFactors = FALSE)
hs_desc <- "tests/data/holzinger1939.csv (lavaan::HolzingerSwineford1939, N = 301)"
hs_scales <- list(visual = paste0("x", 1:3), textual = paste0("x", 4:6), speed = paste0("x", 7:9))
HS.model <- scale_syntax(hs_scales)
# "visual =~ x1 + x2 + x3
# textual =~ x4 + x5 + x6
# speed =~ x7 + x8 + x9"

read_example <- function(path = "examples/coproduction_survey.csv") {
  d <- read.csv(path, stringsAsFactors = FALSE)
  items <- grep("^(msc|mcc|ppo|pcc)[0-9]+$", names(d), value = TRUE)
  for (v in items) d[[v]][d[[v]] %in% c(9, -99)] <- NA
  d$ppo4 <- 6 - d$ppo4
  d$pcc3 <- 6 - d$pcc3
  d
}
ex_scales <- list(
  motives_self = paste0("msc", 1:5),
  motives_community = paste0("mcc", 1:5),
  professional_openness = paste0("ppo", 1:5),
  citizen_competence = paste0("pcc", 1:5)
)
EX.model <- scale_syntax(ex_scales)
# how read_example() prepares the data, plus an optional note ("; note")
ex_prep_desc <- function(note = NULL) {
  paste(c(paste("examples/coproduction_survey.csv; empty cells and codes 9/-99 set to NA;",
                "ppo4 and pcc3 reverse-keyed as 6 - x"), note), collapse = "; ")
}
