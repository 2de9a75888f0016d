# Reference values for coscale's multi-group measurement invariance (ML),
# computed with lavaan.
#
# Run from the repository root:
#   Rscript tests/reference/invariance.R
# Writes tests/reference/invariance.json.
#
# Conventions (same as cfa.json):
#   * NA / NaN / Inf are written as null.
#   * Data frames are lists of row objects (column name -> value).
#   * fit_measures keeps lavaan's names; "group" in estimates is 1-based and
#     refers to group_labels (lavaan's order = order of first appearance in
#     the data, not alphabetical).
#   * lavTestScore $uni rows name constraints by parameter labels (.pX.);
#     "plabels" maps each .pX. to lhs/op/rhs/group, and "uni" rows are also
#     annotated with the parameter of their lhs label (param_lhs, param_op,
#     param_rhs) for convenience.

source("tests/reference/common.R")

# ---------------------------------------------------------------- helpers ----
group_info <- function(fit) {
  list(group_labels = lavInspect(fit, "group.label"),
       group_sizes = as.integer(unlist(lavInspect(fit, "nobs"))))
}

latent_means <- function(fit, g = 2L) {
  lv <- lavNames(fit, "lv")
  pe <- pe_rows(fit)
  pe <- pe[pe$op == "~1" & pe$lhs %in% lv & pe$group == g,
           c("lhs", "group", "est", "se", "z", "pvalue", "std.lv", "std.all")]
  rownames(pe) <- NULL
  pe
}

model_entry <- function(fit, call, full = TRUE) {
  out <- list(
    call = call,
    converged = lavInspect(fit, "converged"),
    warnings = warnings_of(fit),
    ntotal = lavInspect(fit, "ntotal"),
    npar = unname(fitMeasures(fit, "npar")),
    logl = unname(fitMeasures(fit, "logl")),
    fit_measures = fm_list(fit)
  )
  if (full) out$estimates <- pe_rows(fit)
  out
}

lrt_rows <- function(...) {
  t <- lavTestLRT(..., model.names = c("configural", "metric", "scalar", "strict")[seq_len(...length())])
  t <- as.data.frame(t)
  t <- cbind(model = rownames(t), t, stringsAsFactors = FALSE)
  rownames(t) <- NULL
  t
}

score_test <- function(fit) {
  st <- lavTestScore(fit)
  pl <- plabel_rows(fit)
  list(
    call = "lavTestScore(fit)",
    test = df_rows(st$test),
    uni = annotate_uni(st$uni, pl),
    plabels = pl
  )
}

ladder <- function(model, data, group, call_data, extra = list(), full = TRUE) {
  ge <- list(configural = NULL,
             metric = "loadings",
             scalar = c("loadings", "intercepts"),
             strict = c("loadings", "intercepts", "residuals"))
  fits <- list()
  entries <- list()
  for (nm in names(ge)) {
    args <- c(list(model, data = data, group = group), extra)
    geq <- ge[[nm]]
    if (!is.null(geq)) args$group.equal <- geq
    fits[[nm]] <- fit_w(do.call("cfa", args))
    extra_txt <- if (length(extra))
      paste0(", ", paste(names(extra), "=", vapply(extra, deparse, ""), collapse = ", ")) else ""
    ge_txt <- if (is.null(geq)) "" else paste0(", group.equal = ", deparse(geq))
    call <- sprintf("cfa(model, data = %s, group = '%s'%s%s)", call_data, group, ge_txt, extra_txt)
    entries[[nm]] <- model_entry(fits[[nm]], call, full = full)
  }
  list(fits = fits, entries = entries)
}

# ------------------------------------------------------------------- data ----
HS <- read_hs()
EX <- read_example()
ex_prep <- ex_prep_desc("listwise deletion over the 20 items (lavaan default)")

cases <- list()

# ------------------------------------------- 1. HS by school, full ladder ----
L <- ladder(HS.model, HS, "school", "HS")
cases$hs_school <- c(
  list(model = HS.model, data = hs_desc, group = "school"),
  group_info(L$fits$configural),
  list(models = L$entries,
       lrt = list(call = "lavTestLRT(configural, metric, scalar, strict)",
                  table = lrt_rows(L$fits$configural, L$fits$metric,
                                   L$fits$scalar, L$fits$strict)),
       score_scalar = score_test(L$fits$scalar),
       latent_means_scalar_group2 = latent_means(L$fits$scalar, 2L),
       latent_means_strict_group2 = latent_means(L$fits$strict, 2L))
)
hs_scalar <- L$fits$scalar

# ------------------------------------------------- 2. same with std.lv ----
L2 <- ladder(HS.model, HS, "school", "HS", extra = list(std.lv = TRUE), full = FALSE)
cases$hs_school_stdlv <- c(
  list(model = HS.model, data = hs_desc, group = "school"),
  group_info(L2$fits$configural),
  list(models = L2$entries,
       latent_means_scalar_group2 = latent_means(L2$fits$scalar, 2L),
       latent_means_strict_group2 = latent_means(L2$fits$strict, 2L))
)

# ---------------------------------------------- 3. partial scalar (HS) ----
fit <- fit_w(cfa(HS.model, data = HS, group = "school",
                 group.equal = c("loadings", "intercepts"),
                 group.partial = c("x3~1", "x7~1")))
cases$hs_school_partial_scalar <- c(
  list(model = HS.model, data = hs_desc, group = "school"),
  group_info(fit),
  model_entry(fit, paste0("cfa(model, data = HS, group = 'school', ",
                          "group.equal = c('loadings', 'intercepts'), ",
                          "group.partial = c('x3~1', 'x7~1'))"), full = TRUE),
  list(latent_means_group2 = latent_means(fit, 2L),
       lrt_vs_scalar = list(call = "lavTestLRT(partial, scalar)",
                            table = {
                              t <- as.data.frame(lavTestLRT(fit, hs_scalar,
                                                            model.names = c("partial", "scalar")))
                              t <- cbind(model = rownames(t), t, stringsAsFactors = FALSE)
                              rownames(t) <- NULL; t
                            }))
)

# --------------------------------------- 4. example survey by role ----
L4 <- ladder(EX.model, EX, "role", "EX", full = FALSE)
cases$example_role <- c(
  list(model = EX.model, data = ex_prep, group = "role"),
  group_info(L4$fits$configural),
  list(models = L4$entries,
       lrt = list(call = "lavTestLRT(configural, metric, scalar, strict)",
                  table = lrt_rows(L4$fits$configural, L4$fits$metric,
                                   L4$fits$scalar, L4$fits$strict)),
       score_scalar = score_test(L4$fits$scalar),
       latent_means_scalar_group2 = latent_means(L4$fits$scalar, 2L),
       planted = "intercept of ppo3 is non-invariant (professionals +1.2 scale points on the latent response); see examples/population.yaml")
)

# Partial scalar for the example: free the planted intercept (ppo3).
fit <- fit_w(cfa(EX.model, data = EX, group = "role",
                 group.equal = c("loadings", "intercepts"), group.partial = "ppo3~1"))
cases$example_role_partial_ppo3 <- c(
  list(model = EX.model, data = ex_prep, group = "role"),
  group_info(fit),
  model_entry(fit, paste0("cfa(model, data = EX, group = 'role', ",
                          "group.equal = c('loadings', 'intercepts'), group.partial = 'ppo3~1')"),
              full = FALSE),
  list(latent_means_group2 = latent_means(fit, 2L))
)

# How lavaan combines srmr over groups: recompute it for the HS ladder.
srmr_by_group <- function(fit) {
  ss <- lavInspect(fit, "sampstat"); imp <- lavInspect(fit, "implied")
  n <- unlist(lavInspect(fit, "nobs"))
  per <- t(sapply(seq_along(ss), function(g) {
    S <- unclass(ss[[g]]$cov); Sig <- unclass(imp[[g]]$cov)
    sd <- sqrt(diag(S)); p <- nrow(S)
    R <- ((S - Sig) / outer(sd, sd))[lower.tri(S, diag = TRUE)]
    rm <- (ss[[g]]$mean - imp[[g]]$mean) / sd
    c(total = sqrt((sum(R^2) + sum(rm^2)) / (p * (p + 1) / 2 + p)),
      nomean = sqrt(mean(R^2)))
  }))
  list(per_group_total = per[, "total"], per_group_nomean = per[, "nomean"],
       weights = n / sum(n),
       srmr_bentler_manual = sum(n / sum(n) * per[, "total"]),
       srmr_bentler_nomean_manual = sum(n / sum(n) * per[, "nomean"]))
}
cases$hs_school$srmr_check <- c(
  list(note = paste(
    "multi-group: srmr = srmr_bentler = sum_g (n_g/N) * SRMR_g, where SRMR_g includes the",
    "standardized mean residuals: sqrt((sum(vech(R_g)^2) + sum(((m_g - mu_g)/sd_g)^2)) / (p(p+1)/2 + p)),",
    "R_g = (S_g - Sigma_g)/outer(sd_g, sd_g), sd_g = sqrt(diag(S_g)) (S_g ML, /n_g);",
    "srmr_bentler_nomean drops the mean part (denominator p(p+1)/2)")),
  lapply(L$fits, srmr_by_group))

# ------------------------------ 5. HS by school x (ageyr >= 13): 4 groups ----
HS4 <- HS
HS4$school_age <- paste0(HS4$school, ifelse(HS4$ageyr >= 13, "_13plus", "_12orless"))
ge5 <- list(configural = NULL, metric = "loadings", scalar = c("loadings", "intercepts"))
fits5 <- list(); ent5 <- list()
sel <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "srmr_bentler",
         "srmr_bentler_nomean", "aic", "bic", "logl", "npar")
for (nm in names(ge5)) {
  args <- list(HS.model, data = HS4, group = "school_age")
  if (!is.null(ge5[[nm]])) args$group.equal <- ge5[[nm]]
  fits5[[nm]] <- fit_w(do.call("cfa", args))
  ent5[[nm]] <- list(
    call = sprintf("cfa(model, data = HS4, group = 'school_age'%s)",
                   if (is.null(ge5[[nm]])) "" else paste0(", group.equal = ", deparse(ge5[[nm]]))),
    converged = lavInspect(fits5[[nm]], "converged"),
    warnings = warnings_of(fits5[[nm]]),
    fit_measures = fm_list(fits5[[nm]], sel)
  )
}
cases$hs_school_age4 <- c(
  list(model = HS.model, data = hs_desc,
       group = "school_age",
       group_construction = "HS4$school_age <- paste0(HS$school, ifelse(HS$ageyr >= 13, '_13plus', '_12orless'))"),
  group_info(fits5$configural),
  list(models = ent5,
       lrt = list(call = "lavTestLRT(configural, metric, scalar)",
                  table = lrt_rows(fits5$configural, fits5$metric, fits5$scalar)))
)

# ------------------------------------------------------------------ write ----
out <- list(
  meta = ref_meta(
    "tests/reference/invariance.R",
    conventions = paste(
      "NA/NaN/Inf -> null; data frames -> lists of row objects;",
      "group indices are 1-based into group_labels (order of first appearance in the data)")
  ),
  cases = cases
)
write_ref(out, "tests/reference/invariance.json")

# ----------------------------------------------------------- key numbers ----
show_ladder <- function(nm) {
  cc <- cases[[nm]]
  cat(sprintf("== %s  groups: %s  (n = %s)\n", nm, paste(cc$group_labels, collapse = ", "),
              paste(cc$group_sizes, collapse = ", ")))
  for (m in names(cc$models)) {
    f <- cc$models[[m]]$fit_measures
    cat(sprintf("  %-10s chisq %9.3f df %3d cfi %.4f tli %.4f rmsea %.4f srmr %.4f (bentler %.4f nomean %.4f) aic %.3f bic %.3f\n",
                m, f$chisq, as.integer(f$df), f$cfi, f$tli, f$rmsea, f$srmr,
                f$srmr_bentler, f$srmr_bentler_nomean, f$aic, f$bic))
  }
}
for (nm in c("hs_school", "hs_school_stdlv", "example_role", "hs_school_age4")) show_ladder(nm)
f <- cases$hs_school_partial_scalar$fit_measures
cat(sprintf("== partial scalar: chisq %.3f df %d cfi %.4f rmsea %.4f srmr %.4f\n",
            f$chisq, as.integer(f$df), f$cfi, f$rmsea, f$srmr))
cat("HS scalar latent means (group 2):\n"); print(cases$hs_school$latent_means_scalar_group2, digits = 4)
cat("HS std.lv scalar latent means (group 2):\n"); print(cases$hs_school_stdlv$latent_means_scalar_group2, digits = 4)
cat("HS partial scalar latent means (group 2):\n"); print(cases$hs_school_partial_scalar$latent_means_group2, digits = 4)
cat("HS LRT:\n"); print(cases$hs_school$lrt$table, digits = 6)
top <- function(u, k = 5) head(u[order(-u$X2), c("lhs", "op", "rhs", "X2", "df", "p.value", "param_lhs", "param_op", "param_rhs")], k)
cat("HS scalar score tests (top 5):\n"); print(top(cases$hs_school$score_scalar$uni), digits = 4)
cat("Example scalar score tests (top 5):\n"); print(top(cases$example_role$score_scalar$uni), digits = 4)
cat("Example scalar latent means (professional):\n"); print(cases$example_role$latent_means_scalar_group2, digits = 4)
cat("Example partial scalar (ppo3~1 free) latent means:\n"); print(cases$example_role_partial_ppo3$latent_means_group2, digits = 4)
f <- cases$example_role_partial_ppo3$fit_measures
cat(sprintf("Example partial scalar: chisq %.3f df %d\n", f$chisq, as.integer(f$df)))
for (m in names(L$fits)) with(cases$hs_school$srmr_check[[m]],
  cat(sprintf("srmr check %-10s manual %.6f (lavaan %.6f), nomean manual %.6f (lavaan %.6f)\n", m,
              srmr_bentler_manual, cases$hs_school$models[[m]]$fit_measures$srmr,
              srmr_bentler_nomean_manual, cases$hs_school$models[[m]]$fit_measures$srmr_bentler_nomean)))
cat("wrote tests/reference/invariance.json\n")
