# Reference values for tests/test_waves.py (the committed three-wave demo, end to end). Run from
# the repository root after `impact run surveys/demo-followup --out /tmp/fu --no-pdf`:
#   Rscript tests/r/demo_followup_reference.R /tmp/fu/scores.csv
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, emmeans 1.8.4-1 (Satterthwaite; pbkrtest is installed, so say so).
suppressMessages({library(lmerTest); library(emmeans)})
emm_options(lmer.df = "satterthwaite", lmerTest.limit = Inf, pbkrtest.limit = Inf)
show <- function(label, x) cat(sprintf("%-28s", label), paste(sprintf("%.12g", x), collapse = ", "), "\n")
scores <- read.csv(commandArgs(TRUE)[1])
scores$wave <- factor(scores$wave, levels = c("pre", "post", "followup"))
for (variable in c("shs_total", "phq9_total", "cdse_sf_total")) {
  d <- scores[!is.na(scores[[variable]]), c("participant_id", "wave", variable)]
  names(d)[3] <- "y"
  m <- lmer(y ~ wave + (1 | participant_id), d, REML = TRUE)
  emm <- emmeans(m, ~ wave)
  means <- summary(emm)
  for (j in 1:3) show(paste(variable, "mean", means$wave[j]), unlist(means[j, c("emmean", "SE", "df", "lower.CL", "upper.CL")]))
  cs <- summary(contrast(emm, list(post_pre = c(-1, 1, 0), fu_pre = c(-1, 0, 1), fu_post = c(0, -1, 1)), adjust = "none"))
  for (j in 1:3) show(paste(variable, cs$contrast[j]), unlist(cs[j, c("estimate", "SE", "df", "t.ratio", "p.value")]))
  wide <- reshape(d, idvar = "participant_id", timevar = "wave", direction = "wide")
  both <- wide[!is.na(wide$y.pre) & !is.na(wide$y.followup), ]
  tt <- t.test(both$y.followup, both$y.pre, paired = TRUE)
  show(paste(variable, "t.test fu-pre"), c(nrow(both), tt$estimate, tt$statistic, tt$p.value))
}
