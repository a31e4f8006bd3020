# Reference values for tests/test_statistics_mixed_waves.py. Run from the repository root:
#   Rscript tests/r/mixed_waves_reference.R
# R 4.2.2 with Debian's r-cran-lme4 1.1-31, r-cran-lmertest 3.1-3, r-cran-emmeans 1.8.4-1
# (pbkrtest is installed too, so emmeans is told to use Satterthwaite; and never df = Inf).
suppressMessages({library(lmerTest); library(emmeans)})
emm_options(lmer.df = "satterthwaite", lmerTest.limit = Inf, pbkrtest.limit = Inf)
show <- function(label, x) cat(sprintf("%-34s", label), paste(sprintf("%.15g", x), collapse = ", "), "\n")
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 1e-2, rhoend = 1e-12))

# Wide file (id, w0, w1, ...) to long, every available score; wave a factor with every column a level.
fit <- function(file) {
  wide <- read.csv(file.path("tests/fixtures/statistics", file))
  waves <- setdiff(names(wide), "id")
  long <- do.call(rbind, lapply(seq_along(waves), function(j)
    data.frame(id = wide$id, wave = j - 1, y = wide[[waves[j]]])))
  long <- long[!is.na(long$y), ]
  long$wave <- factor(long$wave, levels = seq_along(waves) - 1)
  lmer(y ~ wave + (1 | id), long, REML = TRUE, control = tight)
}

reference <- function(label, file, contrasts) {
  m <- fit(file)
  vc <- as.data.frame(VarCorr(m))
  show(paste(label, "n_obs sigma2 tau2 theta"), c(nobs(m), sigma(m)^2, vc$vcov[1], getME(m, "theta")))
  emm <- emmeans(m, ~ wave)
  means <- summary(emm)
  for (j in seq_len(nrow(means)))   # emmean, SE, df, lower.CL, upper.CL
    show(paste(label, "mean", means$wave[j]), unlist(means[j, c("emmean", "SE", "df", "lower.CL", "upper.CL")]))
  k <- nlevels(means$wave)
  for (ft in contrasts) {          # to minus from: estimate, SE, df, t, p
    L <- numeric(k); L[ft[2] + 1] <- 1; L[ft[1] + 1] <- -1
    ct <- summary(contrast(emm, method = list(d = L), adjust = "none"))
    show(sprintf("%s contrast %d-%d", label, ft[2], ft[1]), unlist(ct[1, c("estimate", "SE", "df", "t.ratio", "p.value")]))
    # The same contrast by lmerTest (treatment coding: beta = intercept, wave1, ...).
    Lb <- L[-1]; Lb <- c(0, Lb)
    lt <- contest(m, Lb, joint = FALSE)
    show(sprintf("%s contest %d-%d", label, ft[2], ft[1]), unlist(lt[1, c("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)")]))
  }
}

three <- list(c(0, 1), c(0, 2), c(1, 2))
# 1. 40 participants x 3 waves: 25 complete, 5 without follow-up, 4 without post, 3 without
#    baseline, 2 at baseline only, 1 at follow-up only.
reference("waves3", "waves3.csv", three)
# 2. 30 participants x 4 waves, about 20% of cells missing at random.
reference("waves4", "waves4.csv", list(c(0, 1), c(0, 2), c(0, 3), c(1, 2), c(2, 3), c(1, 3)))
# 3. 25 participants x 3 waves, the follow-up scored for 2 participants only.
reference("sparse", "waves_sparse.csv", three)
# 4. Baseline and post correlating negatively: a boundary (singular) fit, tau^2 = 0.
suppressMessages(reference("boundary", "waves_boundary.csv", three))
# 5. Participant variance ~600 x the residual one.
reference("icc", "waves_icc.csv", three)
# 6. Two waves: the shared 70-participant fixture (55 pairs, 10 baseline only, 5 post only).
scores <- read.csv("tests/fixtures/statistics/scores.csv")
write.csv(data.frame(id = scores$id, w0 = scores$pre, w1 = scores$post), file.path(tempdir(), "two.csv"), row.names = FALSE)
m2 <- local({
  long <- rbind(data.frame(id = scores$id, wave = 0, y = scores$pre), data.frame(id = scores$id, wave = 1, y = scores$post))
  long <- long[!is.na(long$y), ]; long$wave <- factor(long$wave)
  lmer(y ~ wave + (1 | id), long, REML = TRUE, control = tight)
})
show("two summary wave1", summary(m2)$coefficients[2, ])   # Estimate, SE, df, t, p (lmerTest)
e2 <- summary(emmeans(m2, ~ wave))
for (j in 1:2) show(paste("two mean", j - 1), unlist(e2[j, c("emmean", "SE", "df", "lower.CL", "upper.CL")]))

# 7. Paired TOST (Schuirmann, 1987; Lakens, 2017) with bounds +-margin x sd(d), TOSTER's
#    tsum_TOST(..., paired = TRUE, eqbound_type = "SMD") convention, as its two one-sided t-tests.
tost <- function(label, d, margin) {
  low <- -margin * sd(d); high <- margin * sd(d)
  lo <- t.test(d, mu = low, alternative = "greater"); hi <- t.test(d, mu = high, alternative = "less")
  show(paste(label, "mean sd n"), c(mean(d), sd(d), length(d)))
  show(paste(label, "bounds t_low t_high df"), c(low, high, lo$statistic, hi$statistic, lo$parameter))
  show(paste(label, "p_low p_high p"), c(lo$p.value, hi$p.value, max(lo$p.value, hi$p.value)))
}
pairs <- scores[complete.cases(scores), ]
tost("tost fixture 0.5", pairs$post - pairs$pre, 0.5)    # a clear change: not equivalent
tost("tost fixture 0.8", pairs$post - pairs$pre, 0.8)
small <- c(0.4, -0.2, 0.1, 0.0, -0.5, 0.3, 0.2, -0.1, 0.6, -0.3, 0.1, 0.25)
tost("tost small 0.5", small, 0.5)
tost("tost small 1", small, 1)
