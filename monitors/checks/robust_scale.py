"""The factors that turn a robust spread into a standard deviation, shared by the volume rule
(``volume_rule``) and the anomaly rule (``anomaly_query``): for normally distributed values,
1.4826 × the median absolute deviation (MAD) and 1.2533 (√(π/2)) × the mean absolute deviation
both estimate the standard deviation, without being pulled by a few outliers as it is."""

MAD_TO_SIGMA = 1.4826
MEAN_AD_TO_SIGMA = 1.2533
