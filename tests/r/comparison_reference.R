# Reference values for tests/test_statistics_comparison.py. Run from the repository root:
#   Rscript tests/r/comparison_reference.R
# R 4.2.2 with r-cran-emmeans 1.8.4-1. d_ppc2 and the WWC g are written from their formulas
# (Morris, 2008, eq. 25; WWC Procedures Handbook v5.0), as a reviewer computes them by hand.
suppressMessages(library(emmeans))
show <- function(label, x) cat(sprintf("%-22s", label), paste(sprintf("%.15g", x), collapse = ", "), "\n")
d <- read.csv("tests/fixtures/statistics/comparison.csv")
d$group <- factor(d$group, levels = c("comparison", "program"))
fit <- lm(post ~ pre + group, data = d)
co <- summary(fit)$coefficients["groupprogram", ]
show("ancova diff se t p", co)
show("ancova ci df", c(confint(fit)["groupprogram", ], df.residual(fit)))
show("ancova slope", coef(fit)["pre"])
emm <- summary(emmeans(fit, ~ group))
show("adjusted means C P", emm$emmean)
tt <- t.test(I(post - pre) ~ relevel(group, "program"), data = d, var.equal = TRUE)
show("did t df p diff", c(tt$statistic, tt$parameter, tt$p.value, -diff(tt$estimate)))
p <- d[d$group == "program", ]; k <- d[d$group == "comparison", ]
nP <- nrow(p); nC <- nrow(k); n <- nP + nC
sd_pre <- sqrt(((nP - 1) * var(p$pre) + (nC - 1) * var(k$pre)) / (n - 2))
cP <- 1 - 3 / (4 * (n - 2) - 1)
dppc2 <- cP * ((mean(p$post) - mean(p$pre)) - (mean(k$post) - mean(k$pre))) / sd_pre
cross <- sum((p$pre - mean(p$pre)) * (p$post - mean(p$post))) + sum((k$pre - mean(k$pre)) * (k$post - mean(k$post)))
ssx <- sum((p$pre - mean(p$pre))^2) + sum((k$pre - mean(k$pre))^2)
ssy <- sum((p$post - mean(p$post))^2) + sum((k$post - mean(k$post))^2)
rho <- cross / sqrt(ssx * ssy)
A <- 2 * (1 - rho) * n / (nP * nC)
v <- cP^2 * A * (n - 2) / (n - 4) * (1 + dppc2^2 / A) - dppc2^2
show("dppc2 v rho low high", c(dppc2, v, rho, dppc2 - qnorm(0.975) * sqrt(v), dppc2 + qnorm(0.975) * sqrt(v)))
g <- (1 - 3 / (4 * n - 9)) * (mean(p$pre) - mean(k$pre)) / sd_pre
show("wwc g", g)

# The group x wave interaction of the mixed model on every available score (lmerTest, Satterthwaite):
# lmer(y ~ wave * group + (1 | id)) on tests/fixtures/statistics/waves_groups.csv (C = comparison, P = program).
suppressMessages(library(lmerTest))
w <- read.csv("tests/fixtures/statistics/waves_groups.csv")
w$wave <- factor(w$wave); w$group <- factor(w$group, levels = c("C", "P"))
m <- lmer(y ~ wave * group + (1 | id), w, REML = TRUE,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 1e-2, rhoend = 1e-12)))
for (term in c("wave1:groupP", "wave2:groupP")) show(term, coef(summary(m))[term, ])
