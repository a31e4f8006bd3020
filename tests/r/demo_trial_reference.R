# Reference values for tests/test_comparison_group.py (the committed waitlist-controlled demo, end to
# end). Run from the repository root after `impact run surveys/demo-trial --out /tmp/trial --no-pdf`:
#   Rscript tests/r/demo_trial_reference.R /tmp/trial/scores.csv
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, emmeans 1.8.4-1. d_ppc2 (Morris, 2008, eq. 25) and the What
# Works Clearinghouse g are written from their formulas, as a reviewer computes them by hand.
suppressMessages({library(lmerTest); library(emmeans)})
show <- function(label, x) cat(sprintf("%-42s", paste0(label, ":")), paste(sprintf("%.12g", x), collapse = ", "), "\n")
scores <- read.csv(commandArgs(TRUE)[1])
scores$wave <- factor(scores$wave, levels = c("pre", "post", "followup"))
scores$group <- factor(scores$group, levels = c("comparison", "program"))
for (variable in c("mlq_p_total", "cdse_sf_total", "phq9_total", "gad7_total")) {
  if (!variable %in% names(scores)) variable <- sub("_total$", "", variable)
  d <- scores[!is.na(scores[[variable]]), c("participant_id", "wave", "group", variable)]
  names(d)[4] <- "y"
  base <- d[d$wave == "pre", ]
  p0 <- base$y[base$group == "program"]; c0 <- base$y[base$group == "comparison"]
  sd0 <- sqrt(((length(p0) - 1) * var(p0) + (length(c0) - 1) * var(c0)) / (length(p0) + length(c0) - 2))
  show(paste(variable, "wwc g"), (1 - 3 / (4 * (length(p0) + length(c0)) - 9)) * (mean(p0) - mean(c0)) / sd0)
  m <- lmer(y ~ wave * group + (1 | participant_id), d, REML = TRUE)
  for (wave in c("post", "followup")) {
    w <- merge(base[, c("participant_id", "group", "y")], d[d$wave == wave, c("participant_id", "y")], by = "participant_id")
    names(w) <- c("id", "group", "pre", "post")
    fit <- lm(post ~ pre + group, data = w)
    co <- summary(fit)$coefficients["groupprogram", ]
    show(paste(variable, wave, "ancova diff se t p"), co)
    show(paste(variable, wave, "ancova ci df"), c(confint(fit)["groupprogram", ], df.residual(fit)))
    show(paste(variable, wave, "adjusted means C P"), summary(emmeans(fit, ~ group))$emmean)
    tt <- t.test(I(post - pre) ~ relevel(group, "program"), data = w, var.equal = TRUE)
    show(paste(variable, wave, "did diff t df p"), c(-diff(tt$estimate), tt$statistic, tt$parameter, tt$p.value))
    p <- w[w$group == "program", ]; k <- w[w$group == "comparison", ]
    show(paste(variable, wave, "n r P C"), c(nrow(p), nrow(k), cor(p$pre, p$post), cor(k$pre, k$post)))
    nP <- nrow(p); nC <- nrow(k); n <- nP + nC
    sdp <- sqrt(((nP - 1) * var(p$pre) + (nC - 1) * var(k$pre)) / (n - 2))
    cP <- 1 - 3 / (4 * (n - 2) - 1)
    dd <- cP * ((mean(p$post) - mean(p$pre)) - (mean(k$post) - mean(k$pre))) / sdp
    cross <- sum((p$pre - mean(p$pre)) * (p$post - mean(p$post))) + sum((k$pre - mean(k$pre)) * (k$post - mean(k$post)))
    rho <- cross / sqrt((sum((p$pre - mean(p$pre))^2) + sum((k$pre - mean(k$pre))^2)) *
                        (sum((p$post - mean(p$post))^2) + sum((k$post - mean(k$post))^2)))
    A <- 2 * (1 - rho) * n / (nP * nC)
    v <- cP^2 * A * (n - 2) / (n - 4) * (1 + dd^2 / A) - dd^2
    show(paste(variable, wave, "dppc2 low high"), c(dd, dd - qnorm(0.975) * sqrt(v), dd + qnorm(0.975) * sqrt(v)))
    show(paste(variable, wave, "lmm est se df t p"), coef(summary(m))[paste0("wave", wave, ":groupprogram"), ])
  }
}
