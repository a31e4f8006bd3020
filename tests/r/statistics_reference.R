# Reference values for tests/test_statistics.py. Run from the repository root:
#   Rscript tests/r/statistics_reference.R
# R 4.2.2 with Debian's r-cran-effectsize 0.8.3, r-cran-psych 2.2.9, r-cran-bayesfactor 0.9.12-4.4,
# r-cran-lme4 1.1-31 (apt-get install r-base-core r-cran-psych r-cran-effectsize r-cran-bayesfactor r-cran-lme4).
suppressMessages({library(effectsize); library(psych); library(BayesFactor); library(lme4)})
show <- function(label, x) cat(sprintf("%-28s", label), paste(sprintf("%.15g", x), collapse = ", "), "\n")

hedges_j <- function(df) exp(lgamma(df / 2) - lgamma((df - 1) / 2)) / sqrt(df / 2)

paired_reference <- function(label, pre, post, alpha = 0.05) {
  d <- round(post - pre, 9)              # the pipeline's rounding before ranking
  n <- length(d)
  tt <- t.test(post, pre, paired = TRUE)
  show(paste(label, "t df p"), c(tt$statistic, tt$parameter, tt$p.value))
  show(paste(label, "diff ci"), c(tt$estimate, tt$conf.int))
  dz <- cohens_d(post, pre, paired = TRUE)
  show(paste(label, "d_z ci"), c(dz$Cohens_d, dz$CI_low, dz$CI_high))
  d_av <- mean(post - pre) / ((sd(pre) + sd(post)) / 2)   # Lakens (2013) eq. 10
  # g_av: effectsize's exact Hedges factor for paired data is hedges_g / cohens_d (df = n - 1).
  j <- hedges_g(post, pre, paired = TRUE)$Hedges_g / dz$Cohens_d
  show(paste(label, "d_av g_av J"), c(d_av, j * d_av, j))
  w <- suppressWarnings(wilcox.test(d))   # = wilcox.test(post, pre, paired = TRUE) on rounded differences
  rb <- suppressWarnings(rank_biserial(d, rep(0, n), paired = TRUE))
  show(paste(label, "V p_wilcoxon r_rb"), c(w$statistic, w$p.value, rb$r_rank_biserial))
  cat(sprintf("%-28s %s\n", paste(label, "wilcoxon method"), w$method))
  if (sd(post - pre) > 0) {
    show(paste(label, "shapiro_p"), shapiro.test(post - pre)$p.value)
    bf <- extractBF(ttestBF(x = post, y = pre, paired = TRUE, rscale = "medium"))
    show(paste(label, "bf10 error"), c(bf$bf, bf$error))
  }
  # Smallest d_z with 80% power; strict = TRUE counts both rejection tails (as pwr::pwr.t.test).
  mde <- power.t.test(n = n, sig.level = alpha, power = 0.8, type = "paired", strict = TRUE, tol = 1e-12)$delta
  show(paste(label, "mde_dz"), mde)
}

# 1. Student's sleep data (ties and a zero difference: normal approximation).
paired_reference("sleep", sleep$extra[1:10], sleep$extra[11:20])

# 2. A mean-scored Likert scale, 12 pairs, a decrease.
paired_reference("likert",
  c(3.25, 2.5, 4, 3.75, 2.25, 3, 3.5, 4.25, 2.75, 3, 3.5, 2),
  c(2.75, 2.5, 3.25, 3.5, 2.5, 2.25, 3, 3.5, 2.75, 2.5, 3.25, 1.75))

# 3. Ten pairs with distinct non-zero differences: the exact null distribution.
exact_pre  <- c(12.0, 15.5, 9.8, 11.1, 14.2, 13.3, 10.4, 16.0, 12.7, 11.9)
exact_diff <- c(1.1, -0.4, 2.3, 0.7, 1.9, -1.2, 3.1, 0.2, 1.5, 2.8)
paired_reference("exact", exact_pre, exact_pre + exact_diff)

# 4. Scores averaged over 3 items: differences that are equal in exact arithmetic.
thirds_pre  <- c(5, 4, 6, 7, 3, 8, 5, 6, 4, 9, 7, 5) / 3
thirds_post <- c(7, 6, 8, 9, 5, 9, 4, 8, 6, 11, 9, 5) / 3
paired_reference("thirds", thirds_pre, thirds_post)

# 5. The shared fixture: 55 complete pairs (n >= 50: normal approximation), alpha .01 for mde.
scores <- read.csv("tests/fixtures/statistics/scores.csv")
pairs <- scores[complete.cases(scores), ]
paired_reference("fixture", pairs$pre, pairs$post, alpha = 0.01)

# 6. Multiple testing, with a tie and a missing p.
p <- c(0.01, 0.04, 0.03, 0.005, 0.5, 0.04, NA, 0.0001)
show("holm", p.adjust(p, "holm"))
show("BH", p.adjust(p, "BH"))

# 7. Reliability of the item fixture (complete cases), items as keyed (i6 is worded the other way).
items <- read.csv("tests/fixtures/statistics/items.csv")
complete <- items[complete.cases(items), ]
a <- suppressWarnings(psych::alpha(complete, check.keys = FALSE))
show("alpha n", c(a$total$raw_alpha, nrow(complete)))
show("omega_tot 5 items", suppressWarnings(omega(complete[, 1:5], nfactors = 1, plot = FALSE))$omega.tot)
show("omega_tot 6 items (flip)", suppressWarnings(omega(complete, nfactors = 1, plot = FALSE))$omega.tot)
keyed <- complete; keyed$i6 <- 6 - keyed$i6
show("alpha keyed", psych::alpha(keyed)$total$raw_alpha)
show("omega_tot keyed", suppressWarnings(omega(keyed, nfactors = 1, plot = FALSE))$omega.tot)

# 8. Attrition: completers (scored at both waves) against baseline-only, on baseline scores.
completers <- scores$pre[!is.na(scores$pre) & !is.na(scores$post)]
dropouts <- scores$pre[!is.na(scores$pre) & is.na(scores$post)]
show("attrition d p", c(cohens_d(completers, dropouts)$Cohens_d, t.test(completers, dropouts)$p.value))
show("attrition sd", c(sd(completers), sd(dropouts)))

# 9. Mixed model on all 70 participants (REML; the Wald z p statsmodels reports, which the pipeline
#    used before it took Satterthwaite t: tests/r/mixed_waves_reference.R prints lmerTest's df and p).
long <- rbind(data.frame(id = scores$id, wave = 0, y = scores$pre), data.frame(id = scores$id, wave = 1, y = scores$post))
long <- long[!is.na(long$y), ]
m <- lmer(y ~ wave + (1 | id), long, REML = TRUE,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 1e-2, rhoend = 1e-12)))
est <- fixef(m)[["wave"]]; se <- sqrt(vcov(m)[2, 2])
show("lmm estimate se p", c(est, se, 2 * pnorm(-abs(est / se))))
show("lmm sigma2 tau2", c(sigma(m)^2, as.data.frame(VarCorr(m))$vcov[1]))

# 10. Reliable change (Jacobson & Truax, 1991) on the fixture pairs, sample basis, higher = better.
s_diff <- sd(pairs$pre) * sqrt(2 * (1 - 0.8))
rci <- (pairs$post - pairs$pre) / s_diff
show("rci improved unchanged det", 100 * c(mean(rci > 1.96), mean(abs(rci) <= 1.96), mean(rci < -1.96)))
show("rci threshold", 1.96 * s_diff)
