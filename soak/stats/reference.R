# Reference values for test/unit/soak-stats.test.ts, from R's own routines (qnorm, pnorm,
# cor.test, acf, p.adjust) and the textbook formulas written out independently of the
# TypeScript. Run: Rscript soak/stats/reference.R   (Debian: apt-get install r-base-core)
options(digits = 17)
show <- function(label, v) cat(sprintf("%-34s %s\n", label, paste(format(v, digits = 17), collapse = ", ")))

show("qnorm(.975, .95, .5, 1e-10)", qnorm(c(0.975, 0.95, 0.5, 1e-10)))
show("pnorm(-3, 1.2, -8)", pnorm(c(-3, 1.2, -8)))

y <- as.numeric(Nile); n <- length(y); x <- seq_len(n)
kt <- cor.test(x, y, method = "kendall", exact = FALSE, continuity = TRUE)
S <- sum(sapply(1:(n - 1), function(i) sum(sign(y[(i + 1):n] - y[i]))))
ties <- table(y); ties <- ties[ties > 1]
varS <- (n * (n - 1) * (2 * n + 5) - sum(ties * (ties - 1) * (2 * ties + 5))) / 18
show("Nile S, varS", c(S, varS))
show("Nile cor.test z, p", c(kt$statistic, kt$p.value))
show("Nile cor.test greater, less p", c(
  cor.test(x, y, method = "kendall", exact = FALSE, continuity = TRUE, alternative = "greater")$p.value,
  cor.test(x, y, method = "kendall", exact = FALSE, continuity = TRUE, alternative = "less")$p.value))

# Sen's slope and Gilbert's (1987) interval, ranks M1 and M2 + 1 read by linear interpolation.
d <- sort(unlist(lapply(1:(n - 1), function(i) (y[(i + 1):n] - y[i]) / ((i + 1):n - i))))
N <- length(d); C <- qnorm(0.975) * sqrt(varS)
at <- function(r) { lo <- floor(r); d[lo] + (r - lo) * (d[lo + 1] - d[lo]) }
show("Nile Sen slope, lo, hi (interp)", c(median(d), at((N - C) / 2), at((N + C) / 2 + 1)))

# Hamed & Rao (1998): ranks of the Sen-detrended series, significant lags at 5%, all lags.
det <- y - median(d) * x
rho <- acf(rank(det), lag.max = n - 1, plot = FALSE, demean = TRUE)$acf[-1]
k <- 1:(n - 1); sig <- abs(rho) > qnorm(0.975) / sqrt(n)
hr <- 1 + 2 / (n * (n - 1) * (n - 2)) * sum(((n - k) * (n - k - 1) * (n - k - 2) * rho)[sig])
show("Nile Hamed-Rao n/n*", hr)
zc <- (S - sign(S)) / sqrt(varS * hr)
show("Nile Hamed-Rao z, p", c(zc, 2 * pnorm(-abs(zc))))
rv <- acf(det, lag.max = n - 1, plot = FALSE, demean = TRUE)$acf[-1]
show("Nile Yue-Wang n/n* (all lags)", 1 + 2 * sum((1 - k / n) * rv))
r1 <- (n * rv[1] + 1) / (n - 4)
show("Nile AR(1) n/n*", 1 + 2 * sum((1 - k / n) * r1^k))

# Kendall's S with ties in both x and y: R's cor.test carries Kendall's full variance.
tx <- c(1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 8, 8); ty <- c(3, 3, 4, 4, 4, 5, 3, 6, 6, 7, 6, 9)
kt2 <- cor.test(tx, ty, method = "kendall", exact = FALSE, continuity = TRUE)
show("ties both: z, p", c(kt2$statistic, kt2$p.value))

show("p.adjust holm", p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, 0.0001), "holm"))
