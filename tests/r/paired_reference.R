# Reference values for tests/test_analyze.py. Run: Rscript tests/r/paired_reference.R
# R 4.2.2, effectsize 0.8.3 (Debian packages r-base-core, r-cran-effectsize).
options(digits = 15)
suppressMessages(library(effectsize))
show <- function(label, x) cat(label, paste(format(x, digits = 15), collapse = ", "), "\n")

# 1. Student's sleep data: post = group 2, pre = group 1.
pre  <- sleep$extra[sleep$group == 1]
post <- sleep$extra[sleep$group == 2]
tt <- t.test(post, pre, paired = TRUE)
show("sleep t df p:", c(tt$statistic, tt$parameter, tt$p.value))
show("sleep mean_diff ci:", c(tt$estimate, tt$conf.int))
d <- cohens_d(post, pre, paired = TRUE, ci = 0.95)
show("sleep d_z ci:", c(d$Cohens_d, d$CI_low, d$CI_high))

# 2. Mean-scored Likert scale, 12 pairs, with a decrease.
pre2  <- c(3.25, 2.5, 4, 3.75, 2.25, 3, 3.5, 4.25, 2.75, 3, 3.5, 2)
post2 <- c(2.75, 2.5, 3.25, 3.5, 2.5, 2.25, 3, 3.5, 2.75, 2.5, 3.25, 1.75)
tt2 <- t.test(post2, pre2, paired = TRUE)
show("likert t df p:", c(tt2$statistic, tt2$parameter, tt2$p.value))
show("likert mean_diff ci:", c(tt2$estimate, tt2$conf.int))
show("likert sd pre post:", c(sd(pre2), sd(post2)))
d2 <- cohens_d(post2, pre2, paired = TRUE, ci = 0.95)
show("likert d_z ci:", c(d2$Cohens_d, d2$CI_low, d2$CI_high))

# 3. A large effect with few pairs (wide, asymmetric noncentral interval).
pre3  <- c(10, 12, 9, 14, 11)
post3 <- c(15, 16, 15, 17, 16)
d3 <- cohens_d(post3, pre3, paired = TRUE, ci = 0.95)
show("large d_z ci:", c(d3$Cohens_d, d3$CI_low, d3$CI_high))

# 4. Multiplicity across a family with a tie and a missing p (NA is left out of the family).
p <- c(0.01, 0.04, 0.03, 0.005, 0.5, 0.04, NA, 0.0001)
show("holm:", p.adjust(p, "holm"))
show("BH:", p.adjust(p, "BH"))
