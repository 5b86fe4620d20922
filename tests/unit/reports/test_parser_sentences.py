"""Hand-written report sentences with the RadGraph entities, relations and CheXpert labels we expect.

Each case: the sentence; its entities in text order as ``text/LABEL`` (A = ANAT-DP, DP/DA/U = OBS-*; ``+`` stands
for a space inside a multi-word entity, which RADGRAPH_SCHEMA.md keeps for "in place" only: device names and fixed
terms are a head and its modifiers); the exact set of relations as ``head>relation>tail`` (entity texts); the
derived labels for the observations it mentions (every observation not listed must be None; No Finding is listed
where it is 1).
"""

from __future__ import annotations

import pytest

from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.reports.labels import graph_labels

LABEL = {"A": "ANAT-DP", "DP": "OBS-DP", "DA": "OBS-DA", "U": "OBS-U"}

CASES = [
    # the worked example of RADGRAPH_SCHEMA.md
    ("Mild left lower lobe consolidation, which may represent pneumonia. No pleural effusion.",
     "Mild/DP left/A lower/A lobe/A consolidation/DP pneumonia/U pleural/A effusion/DA",
     "Mild>modify>consolidation left>modify>lobe lower>modify>lobe consolidation>located_at>lobe "
     "consolidation>suggestive_of>pneumonia effusion>located_at>pleural",
     {"Consolidation": 1, "Pneumonia": -1, "Pleural Effusion": 0}),
    # negation over lists, and where it stops
    ("No effusion, pneumothorax, or consolidation.",
     "effusion/DA pneumothorax/DA consolidation/DA", "",
     {"Pleural Effusion": 0, "Pneumothorax": 0, "Consolidation": 0, "No Finding": 1}),
    ("No pleural effusion; small right pneumothorax.",
     "pleural/A effusion/DA small/DP right/A pneumothorax/DP",
     "effusion>located_at>pleural small>modify>pneumothorax pneumothorax>located_at>right",
     {"Pleural Effusion": 0, "Pneumothorax": 1}),
    ("No pneumothorax but there is a small left pleural effusion.",
     "pneumothorax/DA small/DP left/A pleural/A effusion/DP",
     "small>modify>effusion left>modify>pleural effusion>located_at>pleural",
     {"Pneumothorax": 0, "Pleural Effusion": 1}),
    ("No pneumothorax, mild cardiomegaly.",
     "pneumothorax/DA mild/DP cardiomegaly/DP", "mild>modify>cardiomegaly",
     {"Pneumothorax": 0, "Cardiomegaly": 1}),
    ("No pleural effusion or pneumothorax is seen.",
     "pleural/A effusion/DA pneumothorax/DA", "effusion>located_at>pleural",
     {"Pleural Effusion": 0, "Pneumothorax": 0, "No Finding": 1}),
    ("Pneumothorax is not seen.", "Pneumothorax/DA", "", {"Pneumothorax": 0, "No Finding": 1}),
    ("No displaced rib fractures.", "displaced/DA rib/A fractures/DA",
     "displaced>modify>fractures fractures>located_at>rib", {"Fracture": 0, "No Finding": 1}),
    ("Pulmonary edema has resolved.", "Pulmonary/A edema/DA", "edema>located_at>Pulmonary",
     {"Edema": 0, "No Finding": 1}),
    ("There is no focal airspace opacity to suggest pneumonia.",
     "focal/DA airspace/A opacity/DA pneumonia/DA",
     "focal>modify>opacity opacity>located_at>airspace opacity>suggestive_of>pneumonia",
     {"Lung Opacity": 0, "Pneumonia": 0, "No Finding": 1}),
    ("Right lower lobe nodule, not seen on prior exams.", "Right/A lower/A lobe/A nodule/DP",
     "Right>modify>lobe lower>modify>lobe nodule>located_at>lobe", {"Lung Lesion": 1}),
    ("No acute cardiopulmonary process.", "acute/DA cardiopulmonary/A process/DA",
     "acute>modify>process process>located_at>cardiopulmonary", {"No Finding": 1}),
    ("No change in mild cardiomegaly.", "change/DA mild/DP cardiomegaly/DP", "mild>modify>cardiomegaly",
     {"Cardiomegaly": 1}),
    # hedging
    ("Please correlate clinically for pneumonia.", "pneumonia/U", "", {"Pneumonia": -1}),
    ("There is concern for pneumonia.", "pneumonia/U", "", {"Pneumonia": -1}),
    ("A superimposed pneumonia would be a consideration.", "superimposed/U pneumonia/U",
     "superimposed>modify>pneumonia", {"Pneumonia": -1}),
    ("No opacity of concern for pneumonia.", "opacity/DA pneumonia/DA", "opacity>suggestive_of>pneumonia",
     {"Lung Opacity": 0, "Pneumonia": 0, "No Finding": 1}),
    ("Right basilar opacity may represent pneumonia.",
     "Right/A basilar/A opacity/DP pneumonia/U",
     "Right>modify>basilar opacity>located_at>basilar opacity>suggestive_of>pneumonia",
     {"Lung Opacity": 1, "Pneumonia": -1}),
    ("Pleural effusion cannot be excluded.", "Pleural/A effusion/U", "effusion>located_at>Pleural",
     {"Pleural Effusion": -1}),
    ("Cannot exclude a small left pleural effusion.", "small/U left/A pleural/A effusion/U",
     "small>modify>effusion left>modify>pleural effusion>located_at>pleural", {"Pleural Effusion": -1}),
    ("Possible consolidation in the right lower lobe.", "consolidation/U right/A lower/A lobe/A",
     "consolidation>located_at>lobe right>modify>lobe lower>modify>lobe", {"Consolidation": -1}),
    ("Possible small left pleural effusion.", "small/U left/A pleural/A effusion/U",
     "small>modify>effusion left>modify>pleural effusion>located_at>pleural", {"Pleural Effusion": -1}),
    ("Opacity in the left lung base, concerning for pneumonia.",
     "Opacity/DP left/A lung/A base/A pneumonia/U",
     "Opacity>located_at>base left>modify>base lung>modify>base Opacity>suggestive_of>pneumonia",
     {"Lung Opacity": 1, "Pneumonia": -1}),
    ("Left basilar opacity likely representing atelectasis.",
     "Left/A basilar/A opacity/DP atelectasis/U",
     "Left>modify>basilar opacity>located_at>basilar opacity>suggestive_of>atelectasis",
     {"Lung Opacity": 1, "Atelectasis": -1}),
    ("Atelectasis versus pneumonia in the left lower lobe.",
     "Atelectasis/U pneumonia/U left/A lower/A lobe/A",
     "pneumonia>located_at>lobe left>modify>lobe lower>modify>lobe", {"Atelectasis": -1, "Pneumonia": -1}),
    ("Bibasilar airspace disease, either atelectasis or infiltrate.",
     "Bibasilar/A airspace/A disease/DP atelectasis/U infiltrate/U",
     "Bibasilar>modify>airspace disease>located_at>airspace", {"Lung Opacity": 1, "Atelectasis": -1}),
    ("Nodule in the left upper lobe may represent malignancy.",
     "Nodule/DP left/A upper/A lobe/A malignancy/U",
     "Nodule>located_at>lobe left>modify>lobe upper>modify>lobe Nodule>suggestive_of>malignancy",
     {"Lung Lesion": 1}),
    ("Hyperinflated lungs suggestive of emphysema.", "Hyperinflated/DP lungs/A emphysema/U",
     "Hyperinflated>located_at>lungs Hyperinflated>suggestive_of>emphysema", {"No Finding": 1}),
    ("Bibasilar opacities consistent with atelectasis.", "Bibasilar/A opacities/DP atelectasis/DP",
     "opacities>located_at>Bibasilar opacities>suggestive_of>atelectasis", {"Lung Opacity": 1, "Atelectasis": 1}),
    ("Bibasilar atelectasis/airspace disease.", "Bibasilar/A atelectasis/DP airspace/A disease/DP",
     "atelectasis>located_at>Bibasilar disease>located_at>airspace", {"Atelectasis": 1, "Lung Opacity": 1}),
    # laterality, lobes, anatomy heads
    ("Left lower lobe consolidation.", "Left/A lower/A lobe/A consolidation/DP",
     "Left>modify>lobe lower>modify>lobe consolidation>located_at>lobe", {"Consolidation": 1}),
    ("Increased opacity in the right upper lobe.", "Increased/DP opacity/DP right/A upper/A lobe/A",
     "Increased>modify>opacity opacity>located_at>lobe right>modify>lobe upper>modify>lobe", {"Lung Opacity": 1}),
    ("Small bilateral pleural effusions.", "Small/DP bilateral/A pleural/A effusions/DP",
     "Small>modify>effusions bilateral>modify>pleural effusions>located_at>pleural", {"Pleural Effusion": 1}),
    ("Low lung volumes with bibasilar atelectasis.", "Low/DP lung/A volumes/A bibasilar/A atelectasis/DP",
     "Low>located_at>volumes lung>modify>volumes atelectasis>located_at>bibasilar", {"Atelectasis": 1}),
    ("Acute fracture of the left clavicle.", "Acute/DP fracture/DP left/A clavicle/A",
     "Acute>modify>fracture fracture>located_at>clavicle left>modify>clavicle", {"Fracture": 1}),
    ("Degenerative changes of the thoracic spine.", "Degenerative/DP changes/DP thoracic/A spine/A",
     "Degenerative>modify>changes changes>located_at>spine thoracic>modify>spine", {"No Finding": 1}),
    ("Calcified granuloma in the right upper lobe.", "Calcified/DP granuloma/DP right/A upper/A lobe/A",
     "Calcified>modify>granuloma granuloma>located_at>lobe right>modify>lobe upper>modify>lobe",
     {"No Finding": 1}),
    # severity descriptors
    ("Mild pulmonary edema.", "Mild/DP pulmonary/A edema/DP", "Mild>modify>edema edema>located_at>pulmonary",
     {"Edema": 1}),
    ("Moderate cardiomegaly.", "Moderate/DP cardiomegaly/DP", "Moderate>modify>cardiomegaly",
     {"Cardiomegaly": 1}),
    ("Mild pulmonary vascular congestion.", "Mild/DP pulmonary/A vascular/A congestion/DP",
     "Mild>modify>congestion pulmonary>modify>vascular congestion>located_at>vascular", {"Edema": 1}),
    # devices
    ("Endotracheal tube tip 4 cm above the carina.", "Endotracheal/DP tube/DP tip/DP carina/A",
     "Endotracheal>modify>tube tip>modify>tube tip>located_at>carina", {"Support Devices": 1, "No Finding": 1}),
    ("Right PICC line tip in the SVC.", "Right/A PICC/DP line/DP tip/DP SVC/A",
     "PICC>modify>line line>located_at>Right tip>modify>line tip>located_at>SVC", {"Support Devices": 1, "No Finding": 1}),
    ("Nasogastric tube terminates in the stomach.", "Nasogastric/DP tube/DP stomach/A",
     "Nasogastric>modify>tube tube>located_at>stomach", {"Support Devices": 1, "No Finding": 1}),
    ("Pacemaker leads in the right atrium and right ventricle.",
     "Pacemaker/DP leads/DP right/A atrium/A right/A ventricle/A",
     "Pacemaker>modify>leads leads>located_at>atrium leads>located_at>ventricle right>modify>atrium "
     "right>modify>ventricle", {"Support Devices": 1, "No Finding": 1}),
    ("Lead tip in the expected region of the right atrium.", "Lead/DP tip/DP region/A right/A atrium/A",
     "tip>modify>Lead tip>located_at>region region>modify>atrium right>modify>atrium",
     {"Support Devices": 1, "No Finding": 1}),
    # change and comparison
    ("Unchanged cardiomegaly.", "Unchanged/DP cardiomegaly/DP", "Unchanged>modify>cardiomegaly",
     {"Cardiomegaly": 1}),
    ("Cardiomegaly is stable.", "Cardiomegaly/DP stable/DP", "stable>modify>Cardiomegaly", {"Cardiomegaly": 1}),
    ("Stable small left pleural effusion.", "Stable/DP small/DP left/A pleural/A effusion/DP",
     "Stable>modify>effusion small>modify>effusion left>modify>pleural effusion>located_at>pleural",
     {"Pleural Effusion": 1}),
    ("Interval improvement in the right pleural effusion.",
     "Interval/DP improvement/DP right/A pleural/A effusion/DP",
     "Interval>modify>improvement improvement>modify>effusion right>modify>pleural effusion>located_at>pleural",
     {"Pleural Effusion": 1}),
    ("Lung volumes have slightly increased.", "Lung/A volumes/A slightly/DP increased/DP",
     "Lung>modify>volumes slightly>modify>increased increased>located_at>volumes", {"No Finding": 1}),
    ("No change chronic interstitial lung disease.",
     "change/DA chronic/DP interstitial/A lung/A disease/DP",
     "change>modify>disease chronic>modify>disease interstitial>modify>lung disease>located_at>lung",
     {"No Finding": 1}),
    ("Elevated left hemidiaphragm and basilar atelectasis.",
     "Elevated/DP left/A hemidiaphragm/A basilar/A atelectasis/DP",
     "Elevated>located_at>hemidiaphragm left>modify>hemidiaphragm atelectasis>located_at>basilar",
     {"Atelectasis": 1}),
    ("Focal airspace disease in the right middle lobe.",
     "Focal/DP airspace/A disease/DP right/A middle/A lobe/A",
     "Focal>modify>disease disease>located_at>airspace disease>located_at>lobe right>modify>lobe "
     "middle>modify>lobe", {"Lung Opacity": 1}),
    ("Moderate pulmonary edema, slightly improved.", "Moderate/DP pulmonary/A edema/DP slightly/DP improved/DP",
     "Moderate>modify>edema edema>located_at>pulmonary slightly>modify>improved improved>modify>edema",
     {"Edema": 1}),
    ("No evidence of pneumothorax following chest tube removal.", "pneumothorax/DA chest/A tube/DP",
     "tube>located_at>chest", {"Pneumothorax": 0, "Support Devices": 1, "No Finding": 1}),
    ("The right chest tube has been removed.", "right/A chest/A tube/DA",
     "right>modify>chest tube>located_at>chest", {"Support Devices": 0, "No Finding": 1}),
    ("Opacity on the lateral view only.", "Opacity/DP", "", {"Lung Opacity": 1}),
    # normal reports
    ("The lungs are clear.", "lungs/A clear/DP", "clear>located_at>lungs", {"No Finding": 1}),
    ("Lungs are clear bilaterally.", "Lungs/A clear/DP bilaterally/A",
     "clear>located_at>Lungs bilaterally>modify>Lungs", {"No Finding": 1}),
    ("The lungs are clear without focal consolidation.", "lungs/A clear/DP focal/DA consolidation/DA",
     "clear>located_at>lungs focal>modify>consolidation consolidation>located_at>lungs",
     {"Consolidation": 0, "No Finding": 1}),
    ("Heart size is normal.", "Heart/A size/A normal/DP", "Heart>modify>size normal>located_at>size",
     {"Cardiomegaly": 0, "No Finding": 1}),
    ("Normal heart size.", "Normal/DP heart/A size/A", "Normal>located_at>size heart>modify>size",
     {"Cardiomegaly": 0, "No Finding": 1}),
    ("The heart is not enlarged.", "heart/A enlarged/DA", "enlarged>located_at>heart",
     {"Cardiomegaly": 0, "No Finding": 1}),
    ("The heart is not significantly enlarged.", "heart/A enlarged/DA", "enlarged>located_at>heart",
     {"Cardiomegaly": 0, "No Finding": 1}),
    ("The cardiac silhouette is enlarged.", "cardiac/A silhouette/A enlarged/DP",
     "cardiac>modify>silhouette enlarged>located_at>silhouette", {"Cardiomegaly": 1}),
    ("The cardiomediastinal silhouette is within normal limits.", "cardiomediastinal/A silhouette/A normal/DP",
     "cardiomediastinal>modify>silhouette normal>located_at>silhouette",
     {"Enlarged Cardiomediastinum": 0, "No Finding": 1}),
    ("The cardiac and mediastinal silhouettes are unremarkable.",
     "cardiac/A mediastinal/A silhouettes/A unremarkable/DP",
     "cardiac>modify>silhouettes mediastinal>modify>silhouettes unremarkable>located_at>silhouettes",
     {"Cardiomegaly": 0, "Enlarged Cardiomediastinum": 0, "No Finding": 1}),
    ("Enlarged cardiomediastinal silhouette.", "Enlarged/DP cardiomediastinal/A silhouette/A",
     "Enlarged>located_at>silhouette cardiomediastinal>modify>silhouette",
     {"Enlarged Cardiomediastinum": 1}),
    # hedges with an adverb inside the phrase, "unlikely", "should be excluded"
    ("A small effusion cannot be completely excluded.", "small/U effusion/U", "small>modify>effusion",
     {"Pleural Effusion": -1}),
    ("It would be difficult to entirely exclude a superimposed pneumonia.", "superimposed/U pneumonia/U",
     "superimposed>modify>pneumonia", {"Pneumonia": -1}),
    ("No pneumothorax; atelectasis is unlikely.", "pneumothorax/DA atelectasis/U", "",
     {"Pneumothorax": 0, "Atelectasis": -1}),
    ("Tuberculosis should be excluded.", "Tuberculosis/U", "", {"No Finding": 1}),
    ("Pneumonia is in the differential.", "Pneumonia/U", "", {"Pneumonia": -1}),
    ("Suspicion for bilateral pleural effusions.", "bilateral/A pleural/A effusions/U",
     "bilateral>modify>pleural effusions>located_at>pleural", {"Pleural Effusion": -1}),
    ("Apical cavity related to prior tuberculosis infection.", "Apical/A cavity/DP tuberculosis/DP infection/DP",
     "cavity>located_at>Apical cavity>suggestive_of>infection tuberculosis>modify>infection", {"No Finding": 1}),
    # pulmonary vascular congestion in other words is CheXpert's Edema; normal vessels are not
    ("Mild prominence of the pulmonary vascularity.", "Mild/DP prominence/DP pulmonary/A vascularity/A",
     "Mild>modify>prominence prominence>located_at>vascularity pulmonary>modify>vascularity", {"Edema": 1}),
    ("Indistinct vascular margination.", "Indistinct/DP vascular/A margination/A",
     "Indistinct>located_at>margination vascular>modify>margination", {"Edema": 1}),
    ("The pulmonary vessels are engorged.", "pulmonary/A vessels/A engorged/DP",
     "pulmonary>modify>vessels engorged>located_at>vessels", {"Edema": 1}),
    ("The pulmonary XXXX are engorged.", "pulmonary/A engorged/DP", "engorged>located_at>pulmonary", {"Edema": 1}),
    ("Findings of congestive heart failure.", "Findings/DP congestive/DP heart/A failure/DP",
     "congestive>modify>failure failure>located_at>heart", {"Edema": 1}),
    ("Pulmonary vascular engorgement appears within limits of normal.",
     "Pulmonary/A vascular/A engorgement/DP normal/DP",
     "Pulmonary>modify>vascular engorgement>located_at>vascular normal>modify>engorgement",
     {"Edema": 0, "No Finding": 1}),
    ("The pulmonary arteries are prominent.", "pulmonary/A arteries/A prominent/DP",
     "pulmonary>modify>arteries prominent>located_at>arteries", {"No Finding": 1}),
    ("Soft tissue edema of the chest wall.", "Soft/A tissue/A edema/DP chest/A wall/A",
     "Soft>modify>tissue edema>located_at>tissue edema>located_at>wall chest>modify>wall", {"No Finding": 1}),
    # what a pleural collection holds names the observation; "evaluation for" asserts nothing
    ("Small left apical pleural air collection.", "Small/DP left/A apical/A pleural/A air/DP collection/DP",
     "Small>modify>collection air>modify>collection left>modify>pleural apical>modify>pleural "
     "collection>located_at>pleural", {"Pneumothorax": 1}),
    ("Pleural fluid collection.", "Pleural/A fluid/DP collection/DP",
     "fluid>modify>collection collection>located_at>Pleural", {"Pleural Effusion": 1}),
    ("Evaluation for pneumothorax is limited.", "pneumothorax/U", "", {"Pneumothorax": -1}),
    ("Borderline heart size.", "Borderline/DP heart/A size/A", "Borderline>located_at>size heart>modify>size",
     {"Cardiomegaly": 1}),
    ("Borderline normal heart size.", "Borderline/DP normal/DP heart/A size/A",
     "Borderline>modify>normal normal>located_at>size heart>modify>size", {"Cardiomegaly": 0, "No Finding": 1}),
    # change negations after their scope, even with "in the interval" / "since the prior exam" after them
    ("Consolidation in the left lower lobe has cleared in the interval.",
     "Consolidation/DA left/A lower/A lobe/A interval/DP",
     "Consolidation>located_at>lobe left>modify>lobe lower>modify>lobe", {"Consolidation": 0, "No Finding": 1}),
    ("The effusion has resolved since the prior exam.", "effusion/DA", "", {"Pleural Effusion": 0, "No Finding": 1}),
    ("Nodule, not seen on prior exams.", "Nodule/DP", "", {"Lung Lesion": 1}),
    # a broken device is not a broken bone
    ("Left central venous catheter fracture.", "Left/A central/A venous/A catheter/DP fracture/DP",
     "Left>modify>venous central>modify>venous catheter>modify>fracture fracture>located_at>venous", {"Support Devices": 1, "No Finding": 1}),
    ("The enteric tube courses below the diaphragm.", "enteric/DP tube/DP diaphragm/A",
     "enteric>modify>tube tube>located_at>diaphragm", {"Support Devices": 1, "No Finding": 1}),
    ("Small pleural effusions with compressive atelectasis.",
     "Small/DP pleural/A effusions/DP compressive/DP atelectasis/DP",
     "Small>modify>effusions effusions>located_at>pleural compressive>modify>atelectasis",
     {"Pleural Effusion": 1, "Atelectasis": 1}),
    ("The left PICC terminates in the low SVC.", "left/A PICC/DP low/A SVC/A",
     "PICC>located_at>left PICC>located_at>SVC low>modify>SVC", {"Support Devices": 1, "No Finding": 1}),
    ("Pacemaker leads terminate in the right atrium and right ventricle.",
     "Pacemaker/DP leads/DP right/A atrium/A right/A ventricle/A",
     "Pacemaker>modify>leads leads>located_at>atrium leads>located_at>ventricle right>modify>atrium "
     "right>modify>ventricle", {"Support Devices": 1, "No Finding": 1}),
    ("Low lung volumes.", "Low/DP lung/A volumes/A", "Low>located_at>volumes lung>modify>volumes", {"No Finding": 1}),
    # a predicate after a comma list of anatomy holds for the whole list, not for an earlier finding's location
    ("Cardiac size, mediastinal contour, and pulmonary vascularity are within normal limits.",
     "Cardiac/A size/A mediastinal/A contour/A pulmonary/A vascularity/A normal/DP",
     "Cardiac>modify>size mediastinal>modify>contour pulmonary>modify>vascularity normal>located_at>size "
     "normal>located_at>contour normal>located_at>vascularity",
     {"Cardiomegaly": 0, "Enlarged Cardiomediastinum": 0, "No Finding": 1}),
    ("Opacity at the right base, lungs are otherwise clear.", "Opacity/DP right/A base/A lungs/A clear/DP",
     "Opacity>located_at>base right>modify>base clear>located_at>lungs", {"Lung Opacity": 1}),
    # support devices as CheXpert counts them: a tip in the great veins is a line's; hardware counts, clips do not
    ("Left chest port with its tip in the mid SVC.", "Left/A chest/A port/DP tip/DP mid/A SVC/A",
     "Left>modify>chest port>located_at>chest tip>located_at>SVC mid>modify>SVC",
     {"Support Devices": 1, "No Finding": 1}),
    ("The tip projects over the cavoatrial junction.", "tip/DP cavoatrial/A junction/A",
     "tip>located_at>junction cavoatrial>modify>junction", {"Support Devices": 1, "No Finding": 1}),
    ("Aortic valve prosthesis and right shoulder arthroplasty.",
     "Aortic/A valve/A prosthesis/DP right/A shoulder/A arthroplasty/DP",
     "Aortic>modify>valve prosthesis>located_at>valve right>modify>shoulder arthroplasty>located_at>shoulder",
     {"Support Devices": 1, "No Finding": 1}),
    ("Surgical clips in the right axilla.", "Surgical/DP clips/DP right/A axilla/A",
     "Surgical>modify>clips clips>located_at>axilla right>modify>axilla", {"No Finding": 1}),
    ("Bandlike opacity in the left base consistent with atelectasis.",
     "Bandlike/DP opacity/DP left/A base/A atelectasis/DP",
     "Bandlike>modify>opacity opacity>located_at>base left>modify>base opacity>suggestive_of>atelectasis",
     {"Lung Opacity": 1, "Atelectasis": 1}),
    ("Endplate sclerosis of the thoracic spine.", "Endplate/A sclerosis/DP thoracic/A spine/A",
     "sclerosis>located_at>Endplate sclerosis>located_at>spine thoracic>modify>spine", {"No Finding": 1}),
    # interstitial markings are CheXpert's Lung Opacity; normal ones are a negative mention
    ("Mild interstitial prominence.", "Mild/DP interstitial/A prominence/DP",
     "Mild>modify>prominence prominence>located_at>interstitial", {"Lung Opacity": 1}),
    ("Interstitial markings are within normal limits.", "Interstitial/A markings/DP normal/DP",
     "markings>located_at>Interstitial normal>modify>markings", {"Lung Opacity": 0, "No Finding": 1}),
    # a position word as the predicate states a finding
    ("The trachea is midline.", "trachea/A midline/DP", "midline>located_at>trachea", {"No Finding": 1}),
    ("The trachea is deviated to the right.", "trachea/A deviated/DP right/A", "deviated>located_at>trachea",
     {"No Finding": 1}),
    # two findings joined by and/or share the location that follows them; the tail of a list does not
    ("Mild tortuosity and atherosclerosis of the thoracic aorta.",
     "Mild/DP tortuosity/DP atherosclerosis/DP thoracic/A aorta/A",
     "Mild>modify>tortuosity tortuosity>located_at>aorta atherosclerosis>located_at>aorta thoracic>modify>aorta",
     {"No Finding": 1}),
    ("Atelectasis or consolidation in the left lower lobe.",
     "Atelectasis/DP consolidation/DP left/A lower/A lobe/A",
     "Atelectasis>located_at>lobe consolidation>located_at>lobe left>modify>lobe lower>modify>lobe",
     {"Atelectasis": 1, "Consolidation": 1}),
    ("No effusion, pneumothorax or consolidation in the lung bases.",
     "effusion/DA pneumothorax/DA consolidation/DA lung/A bases/A",
     "consolidation>located_at>bases lung>modify>bases",
     {"Pleural Effusion": 0, "Pneumothorax": 0, "Consolidation": 0, "No Finding": 1}),
    # the visceral pleural line of a pneumothorax is not a support device
    ("A pleural line is seen at the apex, consistent with pneumothorax.",
     "pleural/A line/DP apex/A pneumothorax/DP",
     "line>located_at>pleural line>located_at>apex line>suggestive_of>pneumothorax", {"Pneumothorax": 1}),
]


def _entities(graph) -> list[str]:
    return [f"{n.text}/{n.label}" for n in graph.nodes]


def _relations(graph) -> set[str]:
    return {f"{graph.nodes[e.src].text}>{e.relation}>{graph.nodes[e.dst].text}" for e in graph.edges}


@pytest.mark.parametrize("sentence, entities, relations, labels", CASES, ids=[c[0][:50] for c in CASES])
def test_sentence(parser, sentence, entities, relations, labels):
    graph = parser.parse(sentence)
    graph.validate()
    expected_entities = []
    for item in entities.split():
        text, label = item.rsplit("/", 1)
        expected_entities.append(text.replace('+', ' ') + '/' + LABEL[label])
    assert _entities(graph) == expected_entities, sentence
    assert _relations(graph) == {r.replace("+", " ") for r in relations.split()}, sentence
    for node in graph.nodes:
        assert sentence[node.start:node.end] == node.text
        assert node.section == "text"
    expected_labels = {name: None for name in CHEXPERT_OBSERVATIONS}
    expected_labels.update({name: float(value) for name, value in labels.items()})
    assert graph_labels(graph) == expected_labels, sentence
