"""Statistics for a paired pre/post evaluation, one module per family (as pingouin is laid out).

* ``paired``: descriptives, the paired t-test, d_z with its noncentral interval, d_av, g_av,
  Shapiro-Wilk on the differences;
* ``wilcoxon``: the Wilcoxon signed-rank test as R's classic ``wilcox.test`` and the
  matched-pairs rank-biserial correlation;
* ``bayes``: the JZS Bayes factor for a paired t;
* ``power``: the minimum detectable d_z;
* ``reliability``: Cronbach's alpha and McDonald's omega total;
* ``reliable_change``: Jacobson & Truax's reliable change index and recovery;
* ``attrition``: baseline scores of completers against non-completers;
* ``mixed``: the random-intercept model on all available scores over 2 to 12 waves (intention
  to treat), with lmerTest's Satterthwaite df for emmeans-style wave means and any linear
  contrast of them (a group x wave interaction when the columns are groups' waves);
* ``equivalence``: the paired two one-sided t-tests (TOST) against a margin in SDs of the differences;
* ``comparison``: program against a comparison group (ANCOVA, difference in differences,
  Morris's d_ppc2, the WWC baseline difference), for designs with ``groups:``;
* ``multiplicity``: Holm and Benjamini-Hochberg adjustment.

Every function is pure (arrays in, numbers out); ``pipeline.analyze`` applies them per scale.
Reference values from R are recorded in ``tests/test_statistics_*.py`` with the R code in
``tests/r/``.
"""
